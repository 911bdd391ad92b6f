/* A plain C file compiled for the host (x86-64), not for BPF. */
int add(int a, int b) { return a + b; }
