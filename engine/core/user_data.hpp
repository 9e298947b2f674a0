// What a completion is for: one operation on one connection slot, of one generation of
// that slot. Encoded in the 64-bit user_data every SQE carries and its CQE returns
// (liburing's examples/proxy.h does the same with its own fields).
//
//   bits 63..56  op
//   bits 55..32  the slot's generation, low 24 bits (a completion whose generation no
//                longer matches its slot belongs to a recycled connection: stale)
//   bits 31..0   the slot
#pragma once
#include <cstdint>

namespace ringload {

// setup: a step of a direct socket's chain before its connect (direct_fd.hpp); quiet: a
// completion nobody waits for (the close of a direct socket), seen only when it failed.
enum class Op : uint8_t { connect, link_timeout, send, recv, setup, quiet };

struct UserData {
  Op op;
  uint32_t gen;   // low gen_bits of the slot's generation
  uint32_t slot;
};

inline constexpr unsigned gen_bits = 24;
inline constexpr uint32_t gen_mask = (uint32_t{1} << gen_bits) - 1;

constexpr uint64_t pack(Op op, uint32_t slot, uint32_t gen) noexcept {
  return static_cast<uint64_t>(op) << 56 | static_cast<uint64_t>(gen & gen_mask) << 32 | slot;
}

constexpr UserData unpack(uint64_t ud) noexcept {
  return {static_cast<Op>(ud >> 56), static_cast<uint32_t>(ud >> 32) & gen_mask, static_cast<uint32_t>(ud)};
}

// Whether a completion tagged with `tagged` (from unpack) belongs to the slot's current
// generation.
constexpr bool current(uint32_t slot_gen, uint32_t tagged) noexcept { return (slot_gen & gen_mask) == tagged; }

static_assert(static_cast<unsigned>(Op::recv) < 256, "op fits in 8 bits");
static_assert(unpack(pack(Op::recv, 0xffffffffu, 0xffffffu)).slot == 0xffffffffu);
static_assert(unpack(pack(Op::recv, 0xffffffffu, 0xffffffu)).gen == 0xffffffu);
static_assert(unpack(pack(Op::recv, 0xffffffffu, 0xffffffu)).op == Op::recv);
static_assert(unpack(pack(Op::send, 7, 0x1000002u)).gen == 2, "the generation wraps at 24 bits");
static_assert(current(0x1000002u, unpack(pack(Op::send, 7, 0x1000002u)).gen));
static_assert(!current(3, unpack(pack(Op::send, 7, 2)).gen));

}  // namespace ringload
