// Thread scheduling for the embedder's forward-pass threads (EngramEmbedding/ForwardPassThreads.swift).
#ifndef ENGRAM_THREAD_H
#define ENGRAM_THREAD_H

#ifdef __cplusplus
extern "C" {
#endif

/// Sets the calling thread's niceness (Linux: per thread; a higher value yields the core to others).
/// Returns 0, or -1 with errno set (elsewhere: always -1). Swift cannot call the variadic `syscall`
/// that names the thread, hence this shim.
int engram_set_thread_niceness(int niceness);

/// The calling thread's niceness (Linux; elsewhere 0).
int engram_thread_niceness(void);

#ifdef __cplusplus
}
#endif

#endif
