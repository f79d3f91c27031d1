/* Stands in for libyaml when only the SONAME libyaml-0.so.2 matters (no libc needed). */
const char *yaml_get_version_string(void) { return "0.0.0"; }
