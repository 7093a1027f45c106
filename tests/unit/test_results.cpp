// The results reader and writer on their own: real files in a temporary folder.
#include <catch2/catch.hpp>
#include <sstream>

#include "dnnfi/errors.hpp"
#include "dnnfi/results.hpp"
#include "temp_dir.hpp"
#include "test_support.hpp"

using namespace dnnfi;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

ResultRow row(std::int64_t injection, const std::string& layer, std::vector<std::int64_t> index, int bit,
              FaultModel model, Counts counts) {
  ResultRow r;
  r.fault.injection = injection;
  r.fault.layer = layer;
  r.fault.index = std::move(index);
  r.fault.bits = BitMask::bit(bit);
  r.fault.model = model;
  r.counts = counts;
  return r;
}

const ResultRow kFirst = row(0, "conv1", {3, 0, 2, 1}, 15, FaultModel::kBitFlip, {100, 14, 85, 1, 0, {}});
const ResultRow kSecond = [] {
  auto r = row(7, "layer3.2.conv2", {63, 0, 2, 2}, 30, FaultModel::kStuckAt1, {100, 0, 2, 98, 96, {}});
  r.rule = NonFiniteRule::kCritical;
  return r;
}();

std::vector<ResultRow> read_string(const std::string& text) {
  std::istringstream in(text);
  ResultsReader reader(in, "r.csv");
  return reader.read_all();
}

std::string results_error(const std::string& text) {
  try {
    read_string(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

bool same(const ResultRow& a, const ResultRow& b) {
  return a.fault.injection == b.fault.injection && a.fault.same_site(b.fault) && a.counts == b.counts &&
         a.rule == b.rule;
}

}  // namespace

TEST_CASE("rows are written in dnnfi's format, the seed's columns first", "[results]") {
  CHECK(format_row(kFirst) == "0,conv1,\"(3, 0, 2, 1)\",15,100,14,85,1,0,bit-flip,argmax");
  CHECK(format_row(kSecond) == "7,layer3.2.conv2,\"(63, 0, 2, 2)\",30,100,0,2,98,96,stuck-at-1,critical");
}

TEST_CASE("written rows read back identically, with their line numbers", "[results]") {
  test::TempDir dir;
  const auto file = dir.path / "sub" / "r.csv";
  {
    auto writer = ResultsWriter::create(file);
    writer.append(kFirst);
    writer.append(kSecond);
  }
  ResultsReader reader(file);
  CHECK(reader.has_header());
  CHECK(reader.dnnfi_format());
  ResultRow r;
  REQUIRE(reader.next(r));
  CHECK(reader.line() == 2);
  CHECK(same(r, kFirst));
  REQUIRE(reader.next(r));
  CHECK(reader.line() == 3);
  CHECK(same(r, kSecond));
  CHECK_FALSE(reader.next(r));
  CHECK(reader.torn_bytes() == 0);
}

TEST_CASE("each appended row is in the file before the writer closes", "[results]") {
  test::TempDir dir;
  const auto file = dir.path / "r.csv";
  auto writer = ResultsWriter::create(file);
  writer.append(kFirst);
  // Another process (a kill -9 right now) sees the flushed row.
  CHECK(test::read_text(file) == std::string(kResultsHeader) + "\n" + format_row(kFirst) + "\n");
}

TEST_CASE("a torn last line is reported, not parsed, and the reader never writes", "[results]") {
  test::TempDir dir;
  const auto file = dir.path / "r.csv";
  const std::string complete = std::string(kResultsHeader) + "\n" + format_row(kFirst) + "\n";
  test::write_text(file, complete + "7,layer3.2.con");
  ResultsReader reader(file);
  CHECK(reader.read_all().size() == 1);
  CHECK(reader.complete_bytes() == complete.size());
  CHECK(reader.torn_bytes() == 14);
  CHECK(test::read_text(file) == complete + "7,layer3.2.con");  // untouched

  SECTION("resuming cuts the torn line and appends after the complete rows") {
    {
      auto writer = ResultsWriter::resume(file, reader.complete_bytes(), reader.has_header());
      writer.append(kSecond);
    }
    CHECK(test::read_text(file) == complete + format_row(kSecond) + "\n");
  }
}

TEST_CASE("resuming a file with no complete line writes the header first", "[results]") {
  test::TempDir dir;
  const auto file = dir.path / "r.csv";
  for (const std::string content : {"", "Injection,Layer,Tens"}) {
    test::write_text(file, content);
    ResultsReader reader(file);
    CHECK_FALSE(reader.has_header());
    {
      auto writer = ResultsWriter::resume(file, reader.complete_bytes(), reader.has_header());
      writer.append(kFirst);
    }
    CHECK(test::read_text(file) == std::string(kResultsHeader) + "\n" + format_row(kFirst) + "\n");
  }
}

TEST_CASE("a writer never overwrites an existing results file", "[results]") {
  test::TempDir dir;
  const auto file = dir.path / "r.csv";
  test::write_text(file, std::string(kResultsHeader) + "\n");
  CHECK_THROWS_AS(ResultsWriter::create(file), Error);
  CHECK(test::read_text(file) == std::string(kResultsHeader) + "\n");
}

TEST_CASE("a published list with results reads as bit-flip rows without non-finite counts", "[results]") {
  ResultsReader reader(test::shared_dir() / "seed" / "ResNet20_FL.csv");
  CHECK_FALSE(reader.dnnfi_format());
  const auto rows = reader.read_all();
  REQUIRE(rows.size() == 16627);
  // The published file's first row: 0,conv1,"(3, 0, 2, 1)",15,10000,14,9985,1
  CHECK(same(rows[0], row(0, "conv1", {3, 0, 2, 1}, 15, FaultModel::kBitFlip,
                          {10000, 14, 9985, 1, std::nullopt, {}})));
  CHECK(rows[0].rule == NonFiniteRule::kArgmax);  // the seed's argmax classification
}

TEST_CASE("a count the file does not record is unknown, and stays unknown", "[results]") {
  // The published lists have no non_finite column: their NaN/Inf count is unknown, not 0.
  const auto published = read_string(
      "Injection,Layer,TensorIndex,Bit,n_injections,masked,non_critical,critical\n"
      "0,layer1.2.conv2,\"(1, 2, 0, 0)\",30,200,0,0,200\n");
  REQUIRE(published.size() == 1);
  CHECK_FALSE(published[0].counts.non_finite.has_value());
  // Written again (a replay), the cell stays empty, and reads back unknown.
  const auto line = format_row(published[0]);
  CHECK(line == "0,layer1.2.conv2,\"(1, 2, 0, 0)\",30,200,0,0,200,,bit-flip,argmax");
  const auto again = read_string(std::string(kResultsHeader) + "\n" + line + "\n");
  REQUIRE(again.size() == 1);
  CHECK_FALSE(again[0].counts.non_finite.has_value());
  // A sum over rows of which one is unknown is unknown; over known rows, known.
  Counts sum = kFirst.counts;
  sum += kSecond.counts;
  CHECK(sum.non_finite == 96);
  sum += again[0].counts;
  CHECK_FALSE(sum.non_finite.has_value());
  CHECK(sum.injections == 400);
}

TEST_CASE("a results file of an older dnnfi reads with the rule it was made with", "[results]") {
  // Before the non_finite_rule column, dnnfi counted every NaN/Inf image critical.
  const std::string old =
      "Injection,Layer,TensorIndex,Bit,n_injections,masked,non_critical,critical,non_finite,"
      "fault_model\n0,conv1,\"(3, 0, 2, 1)\",15,100,0,10,90,80,bit-flip\n";
  std::istringstream in(old);
  ResultsReader reader(in, "old.csv");
  CHECK_FALSE(reader.dnnfi_format());  // not resumable: rows now carry one more column
  const auto rows = reader.read_all();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].rule == NonFiniteRule::kCritical);
  CHECK(rows[0].counts.non_finite == 80);
}

TEST_CASE("malformed results are refused with file and line", "[results]") {
  const std::string header = std::string(kResultsHeader) + "\n" + format_row(kFirst) + "\n";
  CHECK_THAT(results_error(header + "5,conv1,\"(0, 0, 0, 0)\",3,100,x,0,0,0,bit-flip,argmax\n"),
             StartsWith("r.csv:3: masked 'x' is not a non-negative integer"));
  CHECK_THAT(results_error(header + "5,conv1,\"(0, 0, 0, 0)\",3,100,50,0,0,0,bit-flip,argmax\n"),
             StartsWith("r.csv:3: masked + non_critical + critical differs from n_injections"));
  CHECK_THAT(results_error(header + "5,conv1,\"(0, 0, 0, 0)\",3,100,0,0,100,101,bit-flip,argmax\n"),
             StartsWith("r.csv:3: non_finite exceeds n_injections"));
  CHECK_THAT(results_error(header + "5,conv1,\"(0, 0, 0, 0)\",3,100,0,0,100,0,stuck,argmax\n"),
             StartsWith("r.csv:3: unknown fault_model 'stuck'"));
  CHECK_THAT(results_error(header + "5,conv1,\"(0, x, 0, 0)\",3,100,0,0,100,0,bit-flip,argmax\n"),
             StartsWith("r.csv:3: TensorIndex"));
  CHECK_THAT(results_error(header + "5,conv1,\"(0, 0, 0, 0)\",3,100,0,0,100,0,bit-flip,nan\n"),
             StartsWith("r.csv:3: unknown non_finite_rule 'nan'"));
  CHECK_THAT(results_error(header + "\n\n5,conv1,\"(0, 0, 0, 0)\",3,100,0,0\n"),
             StartsWith("r.csv:5: expected 11 fields"));
  CHECK_THAT(results_error("Injection,Layer,TensorIndex,Bit\n0,conv1,\"(0, 0, 0, 0)\",3\n"),
             StartsWith("r.csv:1: not a dnnfi results file") && Contains("n_injections"));
}

TEST_CASE("a last line without a line end is dropped only when it could be the start of a row", "[results]") {
  test::TempDir dir;
  const auto file = dir.path / "r.csv";
  const std::string complete = std::string(kResultsHeader) + "\n" + format_row(kFirst) + "\n";
  for (const std::string torn : {"7", "7,layer3.2.conv1,\"(1, 2", "7,layer3.2.conv1,\"(1, 2, 0, 0)\",3,100,9",
                                 "7,layer3.2.conv1,\"(1, 2, 0, 0)\",3,100,0,0,100,,stuck-a"}) {
    test::write_text(file, complete + torn);
    ResultsReader reader(file);
    CHECK(reader.torn_bytes() == torn.size());
  }
  for (const std::string note : {"checked by Ann", "7,layer3 conv",
                                 "7,conv1,\"(1, 2, 0, 0)\",3,100,0,0,100,,bitflip", "12 faults were rerun"}) {
    test::write_text(file, complete + note);
    CHECK_THROWS_WITH(ResultsReader(file), Catch::Matchers::Contains("r.csv:3: the last line ('"));
  }
}

TEST_CASE("a fault twice in a results file is refused where rows are read whole", "[results]") {
  test::TempDir dir;
  const auto file = dir.path / "r.csv";
  auto again = kFirst;
  again.fault.injection = 99;  // the same fault under another number
  test::write_text(file, std::string(kResultsHeader) + "\n" + format_row(kFirst) + "\n" +
                             format_row(kSecond) + "\n" + format_row(again) + "\n");
  CHECK_THROWS_WITH(ResultsReader(file).read_all(), Catch::Matchers::Contains("r.csv:4: the fault") &&
                                                        Catch::Matchers::Contains("is already on line 2"));
  test::write_text(
      file, std::string(kResultsHeader) + "\n" + format_row(kFirst) + "\n" + format_row(kFirst) + "\n");
  CHECK_THROWS_WITH(ResultsReader(file).read_all(), Catch::Matchers::Contains("r.csv:3: Injection"));
}
