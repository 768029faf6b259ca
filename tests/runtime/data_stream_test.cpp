// DATA framing: every smuggling sequence, fed whole, one byte at a time and in
// random splits, gives exactly one defective message ending at the real
// terminator; framing and reading round-trip.
#include "runtime/data_stream.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

namespace emailroute {
namespace {

using namespace std::string_literals;
using Kind = DataReader::Step::Kind;

struct Outcome {
  std::vector<std::string> lines;
  std::size_t end_offset = std::string::npos;  // octets consumed through the terminator
  DataDefect defect = DataDefect::kNone;
  std::uint64_t size = 0;
};

// Feeds `input` cut into `chunks` (sizes, the last one takes the rest) the
// way a session would, and stops at the end of the message.
Outcome read(std::string_view input, const std::vector<std::size_t>& chunks) {
  DataReader reader;
  Outcome out;
  std::size_t offset = 0;
  for (std::size_t k = 0; offset < input.size() && out.end_offset == std::string::npos; ++k) {
    std::size_t n = k < chunks.size() ? chunks[k] : input.size() - offset;
    std::string chunk(input.substr(offset, n));  // a copy: views must not outlive their chunk
    std::string_view rest = chunk;
    while (true) {
      DataReader::Step step = reader.next(rest);
      REQUIRE(step.consumed <= rest.size());
      rest.remove_prefix(step.consumed);
      offset += step.consumed;
      if (step.kind == Kind::kLine) out.lines.emplace_back(step.line);
      if (step.kind == Kind::kEnd) out.end_offset = offset;
      if (step.kind != Kind::kLine) break;
    }
  }
  out.defect = reader.defect();
  out.size = reader.message_size();
  return out;
}

Outcome read_whole(std::string_view input) { return read(input, {}); }

Outcome read_bytewise(std::string_view input) { return read(input, std::vector<std::size_t>(input.size(), 1)); }

std::vector<std::size_t> random_splits(std::size_t length, std::mt19937& random) {
  std::vector<std::size_t> sizes;
  std::uniform_int_distribution<std::size_t> size(0, 9);  // 0: an empty read
  for (std::size_t total = 0; total < length;) total += sizes.emplace_back(size(random));
  return sizes;
}

void check_same(const Outcome& got, const Outcome& expected) {
  CHECK(got.lines == expected.lines);
  CHECK(got.end_offset == expected.end_offset);
  CHECK(got.defect == expected.defect);
  CHECK(got.size == expected.size);
}

// The same outcome however the input is split.
Outcome read_all_ways(std::string_view input) {
  Outcome whole = read_whole(input);
  check_same(read_bytewise(input), whole);
  std::mt19937 random(12345);
  for (int round = 0; round < 50; ++round) check_same(read(input, random_splits(input.size(), random)), whole);
  return whole;
}

std::string frame(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) append_data_line(out, line);
  out.append(kDataEnd);
  return out;
}

}  // namespace

TEST_CASE("reads a message line by line up to the terminator") {
  std::string input = "Subject: hi\r\n\r\nbody\r\n.\r\n";
  Outcome out = read_all_ways(input + "QUIT\r\n");
  CHECK(out.lines == std::vector<std::string>{"Subject: hi", "", "body"});
  CHECK(out.end_offset == input.size());
  CHECK(out.defect == DataDefect::kNone);
  CHECK(out.size == 21);
}

TEST_CASE("an empty message is just the terminator") {
  Outcome out = read_all_ways(".\r\nQUIT\r\n");
  CHECK(out.lines.empty());
  CHECK(out.end_offset == 3);
  CHECK(out.size == 0);
}

TEST_CASE("removes the leading dot of a dot-stuffed line") {
  Outcome out = read_all_ways("..hidden\r\n...\r\n..\r\n. \r\n.x\r\n.\r\n");
  CHECK(out.lines == std::vector<std::string>{".hidden", "..", ".", " ", "x"});
  CHECK(out.defect == DataDefect::kNone);
  CHECK(out.size == 7 + 2 + 1 + 1 + 1 + 5 * 2);
}

TEST_CASE("without a terminator the reader needs more and yields the complete lines") {
  Outcome out = read_all_ways("line one\r\nline two\r\n.");
  CHECK(out.lines == std::vector<std::string>{"line one", "line two"});
  CHECK(out.end_offset == std::string::npos);
}

TEST_CASE("every smuggling sequence gives one defective message ending at the real terminator") {
  struct Case {
    std::string sequence;
    DataDefect defect;
  };
  const Case cases[] = {
      {"\n.\n", DataDefect::kBareLineFeed},       {"\n.\r\n", DataDefect::kBareLineFeed},
      {"\r.\r", DataDefect::kBareCarriageReturn}, {"\r\n.\r", DataDefect::kBareCarriageReturn},
      {"\r\n\0.\r\n"s, DataDefect::kNul},         {"\r\n.\n", DataDefect::kBareLineFeed},
  };
  for (const Case& c : cases) {
    std::string message = "Subject: x\r\n\r\nbody" + c.sequence +
                          "MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"
                          "\r\nevil\r\n.\r\n";
    CAPTURE(c.sequence);
    Outcome out = read_all_ways(message + "QUIT\r\n");
    CHECK(out.end_offset == message.size());
    CHECK(out.defect == c.defect);
    for (const std::string& line : out.lines) {
      CHECK(line.find_first_of("\r\n"s + '\0') == std::string::npos);
      CHECK(line.find("evil") == std::string::npos);
      CHECK(line.find("MAIL") == std::string::npos);
    }
  }
}

TEST_CASE("a bare LF, a bare CR or a NUL anywhere makes the message defective") {
  CHECK(read_all_ways("a\nb\r\n.\r\n").defect == DataDefect::kBareLineFeed);
  CHECK(read_all_ways("a\rb\r\n.\r\n").defect == DataDefect::kBareCarriageReturn);
  CHECK(read_all_ways("a\r\r\n.\r\n").defect == DataDefect::kBareCarriageReturn);
  CHECK(read_all_ways("a\0b\r\n.\r\n"s).defect == DataDefect::kNul);
  CHECK(read_all_ways("\n.\r\n.\r\n").end_offset == 7);
}

TEST_CASE("keeps the first defect and yields no line after it") {
  Outcome out = read_all_ways("good\r\nbad\0line\nagain\r\nlater\r\n.\r\n"s);
  CHECK(out.defect == DataDefect::kNul);
  CHECK(out.lines == std::vector<std::string>{"good"});
  CHECK(out.size == 6 + 16 + 7);
}

TEST_CASE("accepts lines longer than 998 octets up to 64 KiB") {
  std::string line(kMaxDataLine, 'x');
  Outcome out = read_whole("a\r\n" + line + "\r\n.\r\n");
  CHECK(out.defect == DataDefect::kNone);
  REQUIRE(out.lines.size() == 2);
  CHECK(out.lines[1] == line);
  line.pop_back();  // the limit counts octets as received, a stuffing dot included
  CHECK(read_bytewise("." + line + "\r\n.\r\n").lines == std::vector<std::string>{line});
}

TEST_CASE("a line beyond 64 KiB is refused but the reader still finds the end") {
  std::string message = "a\r\n" + std::string(kMaxDataLine + 1, 'x') + "\r\nb\r\n.\r\n";
  Outcome out = read_whole(message + "QUIT\r\n");
  CHECK(out.defect == DataDefect::kLineTooLong);
  CHECK(out.lines == std::vector<std::string>{"a"});
  CHECK(out.end_offset == message.size());
  CHECK(read_bytewise(message).end_offset == message.size());
}

TEST_CASE("after the end the reader consumes nothing until reset") {
  DataReader reader;
  CHECK(reader.next(".\r\n").kind == Kind::kEnd);
  DataReader::Step after = reader.next("QUIT\r\n");
  CHECK(after.kind == Kind::kEnd);
  CHECK(after.consumed == 0);
  reader.reset();
  DataReader::Step line = reader.next("QUIT\r\n");
  CHECK(line.kind == Kind::kLine);
  CHECK(line.line == "QUIT");
}

TEST_CASE("framing doubles a leading dot and ends each line with CRLF") {
  std::string out;
  append_data_line(out, ".");
  append_data_line(out, "");
  append_data_line(out, ".x");
  append_data_line(out, "x.");
  CHECK(out == "..\r\n\r\n..x\r\nx.\r\n");
  CHECK(frame({}) == ".\r\n");
}

TEST_CASE("dot-unstuffing round-trips through framing") {
  std::mt19937 random(2024);
  std::uniform_int_distribution<int> count(0, 12);
  std::uniform_int_distribution<int> length(0, 6);
  const std::string alphabet = ".. ax";  // dots are likely, so stuffed lines abound
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> lines(count(random));
    for (std::string& line : lines) {
      for (int n = length(random); n > 0; --n) line += alphabet[pick(random)];
    }
    std::string framed = frame(lines);
    CAPTURE(framed);
    Outcome out = read(framed, random_splits(framed.size(), random));
    CHECK(out.lines == lines);
    CHECK(out.end_offset == framed.size());
    CHECK(out.defect == DataDefect::kNone);
  }
}

TEST_CASE("random octets with CR, LF, NUL and dots read the same whole as one octet at a time") {
  // Whole input takes the fast path for every complete clean line; one octet
  // at a time never does: both must agree on lines, end, defect and size.
  std::mt19937 random(77);
  const std::string alphabet = "\r\n\r\n\r\n..ab \0"s;
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 40);
  for (int round = 0; round < 3000; ++round) {
    std::string input;
    for (int n = length(random); n > 0; --n) input += alphabet[pick(random)];
    input += "\r\n.\r\n";
    CAPTURE(input);
    check_same(read_bytewise(input), read_whole(input));
  }
}

}  // namespace emailroute
