// Everything liburing 2.3 (Debian 12) lacks that this kernel has, in one place.
// Include only <liburing.h>: its <liburing/io_uring.h> shares an include guard with
// the kernel's <linux/io_uring.h>, so constants missing there are defined here.
#pragma once
#include <liburing.h>

#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif
#ifndef IORING_FEAT_CQE_SKIP
#define IORING_FEAT_CQE_SKIP (1U << 11)
#endif
#ifndef IORING_FEAT_EXT_ARG
#define IORING_FEAT_EXT_ARG (1U << 8)
#endif
#ifndef IORING_CQE_F_BUF_MORE
// With incremental buffer consumption (IOU_PBUF_RING_INC) the buffer is not done yet.
#define IORING_CQE_F_BUF_MORE (1U << 4)
#endif
#ifndef IORING_FEAT_MIN_TIMEOUT
// io_uring_getevents_arg's min_wait_usec (liburing 2.3's `pad`) is honoured (6.12).
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)
#endif
#ifndef IORING_ENTER_REGISTERED_RING
#define IORING_ENTER_REGISTERED_RING (1U << 4)
#endif
