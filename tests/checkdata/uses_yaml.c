/* Links libyaml, which no manylinux policy whitelists, so auditwheel must graft it.
   Declared here instead of including <yaml.h> so no host headers are needed. */
extern const char *yaml_get_version_string(void);

const char *demo_yaml_version(void) { return yaml_get_version_string(); }

void *PyInit__demo(void) { return 0; }
