// Reader for llhttp's Markdown response test cases (tests/conformance/llhttp-response):
// turns each case's http block into the bytes llhttp was fed and its log block into what
// llhttp reported, reduced to what ringload can be compared on (status codes, body bytes,
// message ends, accept or reject). The conversion rules are llhttp's own (test/md-test.ts).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ringload::conformance {

// One response as either parser saw it: only responses whose head was parsed count.
struct Message {
  int status = 0;
  std::string body;       // all body bytes, in order (chunk framing removed)
  bool complete = false;  // the parser said the response ended
  bool operator==(const Message&) const = default;
};

// What a parser made of a whole case.
struct Outcome {
  std::vector<Message> messages;
  bool error = false;  // the parser rejected the bytes (after the messages listed)
  bool operator==(const Outcome&) const = default;
};

// llhttp's verdict read from a log block, once as logged (the stream is still open) and
// once with the peer's EOF applied by llhttp_finish()'s rules (see derive_eof()).
struct LlhttpVerdict {
  Outcome open;
  Outcome eof;
  bool upgraded = false;   // llhttp paused on 101 Switching Protocols (code 22): not an error
  int finish_state = 0;    // llhttp's parser->finish at the end: 0 safe, 1 safe with cb, 2 unsafe
  int logged_finish = -1;  // `off=NULL finish=N` in a response-finish log, else -1
  std::string problem;     // non-empty: the log could not be read
};

struct Case {
  std::string file;   // e.g. "sample.md"
  int line = 0;       // line of the title
  std::string title;
  std::string type;   // meta.type: response, response-finish, response-lenient-*
  bool skip_body = false;  // meta.skipBody: the request was HEAD
  bool no_scan = false;    // meta.noScan (llhttp does not re-run it split)
  std::string pause;       // meta.pause: a callback that pauses llhttp (no effect on results)
  std::string bytes;       // the http block converted to bytes
  std::string skip_reason; // non-empty: the case cannot be run (e.g. a JS expression)
  LlhttpVerdict llhttp;
};

// Reads every *.md file of `dir` except README.md, in name order. On a malformed file
// returns what it could and sets `error`.
std::vector<Case> load_cases(const std::string& dir, std::string& error);

// llhttp's http-block rules: drop the final newline, drop backslash-newline, every other
// newline becomes CRLF, then \r \n \t \f \xHH \NNN escapes, each rule over the whole text.
// Sets `problem` for what cannot be converted here (${...} JS, \x above 0xff).
std::string http_block_to_bytes(std::string_view block, std::string& problem);

// Reads a log block (lines without their newline).
LlhttpVerdict read_llhttp_log(const std::vector<std::string>& lines);

// Human-readable form of an outcome, for failure messages.
std::string describe(const Outcome& o);

}  // namespace ringload::conformance
