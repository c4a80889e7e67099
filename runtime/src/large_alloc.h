// Large, long-lived buffers (packed weights, the decode cache) in
// transparent huge pages where the system allows them.
#pragma once

#include <cstddef>

namespace attn {

// 64-byte aligned memory for `bytes`, released with std::free; nullptr when
// out of memory. From 2 MiB up it is 2 MiB aligned and advised into huge
// pages (Linux's MADV_HUGEPAGE; elsewhere, or where the system does not
// allow it, ordinary pages): a fault and a TLB entry per 2 MiB instead of
// per 4 KiB, for buffers that are streamed from memory on every token.
void* allocate_large(size_t bytes);

}  // namespace attn
