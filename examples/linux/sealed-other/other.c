/* The sealed-file program built as another enclave: the same code with a
 * different name compiled in, so its measurement, and with it its sealing
 * key, differs from linux-sealed's. */
#define VARIANT "sealed-other"
#include "../sealed/sealed.c"
