// Base64 (proto/base64.hpp): the RFC 4648 §10 vectors through the whole and the streaming
// encoder (split at every offset), the decoder's errors, and base64_valid() agreeing with
// the decoder.
#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

#include "proto/base64.hpp"

using namespace ringload::proto;

namespace {

std::string encode(std::string_view in) {
  std::string out(base64_encoded_size(in.size()), '\0');
  out.resize(base64_encode(in, out.data()));
  return out;
}

std::string encode_split(std::string_view in, std::size_t at) {
  Base64Encoder e;
  std::string out(Base64Encoder::max_output(in.size()) + 4, '\0');
  std::size_t n = e.feed(in.substr(0, at), out.data());
  n += e.feed(in.substr(at), out.data() + n);
  n += e.finish(out.data() + n);
  out.resize(n);
  return out;
}

}  // namespace

TEST_CASE("Base64: RFC 4648 §10 vectors, whole and streamed", "[base64]") {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
      {std::string("\x00\xff\xfe", 3), "AP/+"}};
  for (const auto& [plain, text] : vectors) {
    INFO("plain: " << plain);
    CHECK(encode(plain) == text);
    for (std::size_t at = 0; at <= plain.size(); ++at) CHECK(encode_split(plain, at) == text);
    std::string out(base64_decoded_max(text.size()), '\0');
    const Base64Decoded d = base64_decode(text, out.data());
    REQUIRE(d.error == Base64Decoded::Error::none);
    CHECK(out.substr(0, d.size) == plain);
    CHECK(base64_valid(text));
    // Padding may be left out (§3.2).
    const std::string bare = text.substr(0, text.find('='));
    CHECK(base64_valid(bare));
    CHECK(base64_decode(bare, out.data()).size == plain.size());
  }
}

TEST_CASE("Base64: the decoder's errors, and base64_valid agrees", "[base64]") {
  using E = Base64Decoded::Error;
  struct Case {
    std::string text;
    E error;
    std::size_t position = 0;
  };
  const std::vector<Case> cases = {
      {"Zg=", E::bad_padding}, {"Zg===", E::bad_padding}, {"Z", E::truncated},
      {"Zm9vY", E::truncated}, {"Zm9v-A==", E::bad_character, 4}, {"Z=g=", E::bad_character, 1},
      {"Zm 9", E::bad_character, 2}, {"Zm9v\nA==", E::bad_character, 4}, {"====", E::bad_character, 0}};
  for (const Case& c : cases) {
    INFO("text: " << c.text);
    std::array<char, 16> out{};
    const Base64Decoded d = base64_decode(c.text, out.data());
    CHECK(d.error == c.error);
    if (c.error == E::bad_character) CHECK(d.position == c.position);
    CHECK_FALSE(base64_valid(c.text));
  }
  std::array<char, 64> buf{};
  const Base64Decoded bad{E::bad_character, 0, 3};
  CHECK(std::string(to_string(bad, 8, buf)) == "invalid character at offset 3");
  CHECK(std::string(to_string(Base64Decoded{E::truncated, 0, 0}, 5, buf)) == "truncated input (length 5)");
}
