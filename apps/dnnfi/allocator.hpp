#pragma once

namespace dnnfi::cli {

// Tunes glibc's allocator for repeated inference over the same buffers.
void keep_freed_memory();

}  // namespace dnnfi::cli
