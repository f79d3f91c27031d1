int cibwdemo_wrong(void) { return 1; }
