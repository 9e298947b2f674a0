// WebSocket (RFC 6455) client frames out: the masked frame header, masking, whole frames,
// and the close and pong frames a client sends in reply.
//
// How the engine sends (step 5 of a session; steps 1-2: ws_handshake.hpp, 3-4:
// ws_message.hpp): small messages with encode_frame(); large ones with
// encode_frame_header() + a copy of the payload masked in place with mask_payload()
// (resumable by offset). No allocation, no I/O, no randomness: the caller draws the keys.
//
// The masking key is big-endian on the wire: 0x37fa213d masks with 37 fa 21 3d. The RFC
// asks for an unpredictable key per frame (§5.3); where it comes from is the engine's call.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "proto/ws_frame.hpp"

namespace ringload::proto::ws {

// Writes a frame header with the MASK bit set and the key; returns its size (2..14), or
// 0 if `out` is too small, the opcode is reserved, payload_len >= 2^63, or a control frame
// is over 125 bytes or not final.
std::size_t encode_frame_header(std::span<char> out, Opcode op, bool fin, uint64_t payload_len,
                                uint32_t mask_key) noexcept;

// XORs `data` with the key in place (masking and unmasking are the same operation).
// `offset` is the position of data[0] in the payload, so a payload may be masked in pieces.
void mask_payload(std::span<char> data, uint32_t mask_key, uint64_t offset) noexcept;

// A whole frame: header + masked copy of `payload`. Returns its size, 0 as above.
std::size_t encode_frame(std::span<char> out, Opcode op, bool fin, std::span<const char> payload,
                         uint32_t mask_key) noexcept;

// A whole close frame with encode_close_payload()'s payload (ws_close.hpp; empty for code
// 0, which takes no reason); 0 on failure.
std::size_t encode_close_frame(std::span<char> out, uint16_t code, std::string_view reason,
                               uint32_t mask_key) noexcept;

// The pong answering a ping: the same payload (§5.5.3). 0 if out is too small or the
// payload is over 125 bytes.
std::size_t encode_pong_frame(std::span<char> out, std::span<const char> ping_payload,
                              uint32_t mask_key) noexcept;

}  // namespace ringload::proto::ws
