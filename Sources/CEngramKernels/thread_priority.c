#include "engram_thread.h"

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int engram_set_thread_niceness(int niceness) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), niceness);
}

int engram_thread_niceness(void) {
    return getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
}
#else
int engram_set_thread_niceness(int niceness) {
    (void)niceness;
    return -1;
}

int engram_thread_niceness(void) { return 0; }
#endif
