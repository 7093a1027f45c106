#include "allocator.hpp"

#include <malloc.h>

namespace dnnfi::cli {

void keep_freed_memory() {
  // Inference allocates and frees the same large activation buffers for every batch; glibc
  // would hand them back to the kernel each time (mmap/munmap and page faults: about half
  // the run time on 2 cores). Keep them in the heap instead, and never trim the heap: the
  // staged engine frees one chunk's cached activations and refills the same amount for the
  // next chunk (re-faulting 4 GB of pages doubled that golden pass here).
  constexpr int kMaxMmapThreshold = 32 << 20;  // glibc's upper limit on 64-bit
  mallopt(M_MMAP_THRESHOLD, kMaxMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, -1);  // -1: no trimming (mallopt(3))
  mallopt(M_TOP_PAD, 256 << 20);
}

}  // namespace dnnfi::cli
