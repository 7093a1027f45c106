// Provenance of results files, its SHA-256, and the lock that keeps one writer per file.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "dnnfi/errors.hpp"
#include "dnnfi/provenance.hpp"
#include "platform/file_lock.hpp"
#include "platform/sha256.hpp"
#include "temp_dir.hpp"

using namespace dnnfi;
using Catch::Matchers::Contains;

namespace {

Provenance sample_provenance() {
  Provenance p;
  p.dnnfi_version = "0.1.0";
  p.model = "resnet20/cifar10";
  p.model_sha256 = std::string(64, 'a');
  p.params = "weight";
  p.dataset = "data \"quoted\"\tand tabbed";
  p.dataset_sha256 = std::string(64, 'b');
  p.normalization = "mean 0.5 std 0.25";
  p.images = 10000;
  p.fault_list = "statistical, seed 38";
  p.fault_list_sha256 = std::string(64, 'c');
  p.fault_model = "bit-flip";
  p.sample = 41;
  p.non_finite_rule = "argmax";
  p.batch_size = 128;
  p.device = "cpu";
  p.numerics = "fp32";
  p.layout = "nchw";
  p.engine = "staged";
  p.threads = 2;
  p.shard = Shard{2, 4};
  p.injections = "0-9,12,14-15";
  return p;
}

Fault fault(std::int64_t injection) {
  Fault f;
  f.injection = injection;
  f.layer = "conv1";
  f.index = {0, 0, 0, 0};
  f.bits = BitMask::bit(3);
  return f;
}

}  // namespace

TEST_CASE("sha256 gives the FIPS 180-4 digests", "[provenance]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a', fed in uneven pieces: the buffering must not change the digest.
  Sha256 sha;
  std::size_t fed = 0;
  for (std::size_t piece = 1; fed < 1000000; piece = piece * 7 % 1001 + 1) {
    const auto take = std::min(piece, 1000000 - fed);
    sha.update(std::string(take, 'a'));
    fed += take;
  }
  CHECK(sha.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("a folder's sha256 covers its files' names and bytes, in sorted order", "[provenance]") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path / "b");
  std::ofstream(dir.path / "a.txt") << "one";
  std::ofstream(dir.path / "b" / "c.txt") << "two";
  const auto before = sha256_of_path(dir.path);
  CHECK(sha256_of_path(dir.path / "a.txt") == sha256_hex("one"));
  std::filesystem::rename(dir.path / "b", dir.path / "d");
  CHECK(sha256_of_path(dir.path) != before);
  std::filesystem::rename(dir.path / "d", dir.path / "b");
  CHECK(sha256_of_path(dir.path) == before);
  std::ofstream(dir.path / "b" / "c.txt") << "twO";
  CHECK(sha256_of_path(dir.path) != before);
}

TEST_CASE("injection numbers are kept as ranges and read back", "[provenance]") {
  std::vector<Fault> faults;
  for (std::int64_t i : {0, 1, 2, 3, 7, 9, 10, 4, -2, -1}) faults.push_back(fault(i));
  const auto text = format_injection_ranges(faults);
  CHECK(text == "0-3,7,9-10,4,-2--1");
  const auto back = parse_injection_ranges(text, "x.json");
  REQUIRE(back.size() == faults.size());
  for (std::size_t i = 0; i < back.size(); ++i) CHECK(back[i] == faults[i].injection);
  CHECK_THROWS_WITH(parse_injection_ranges("1,5-3", "x.json"), Contains("x.json: bad injection range '5-3'"));
  CHECK_THROWS_WITH(parse_injection_ranges("1,a", "x.json"), Contains("bad injection range 'a'"));
}

TEST_CASE("a fault list's sha256 follows its sites, models and order", "[provenance]") {
  std::vector<Fault> faults{fault(0), fault(1)};
  faults[1].index = {1, 0, 0, 0};
  const auto sha = fault_list_sha256(faults);
  auto swapped = std::vector<Fault>{faults[1], faults[0]};
  CHECK(fault_list_sha256(swapped) != sha);
  auto other_model = faults;
  other_model[0].model = FaultModel::kStuckAt1;
  CHECK(fault_list_sha256(other_model) != sha);
  CHECK(fault_list_sha256(faults) == sha);
}

TEST_CASE("provenance is written beside the results and read back field by field", "[provenance]") {
  test::TempDir dir;
  const auto results = dir.path / "r.csv";
  CHECK_FALSE(read_provenance(results).has_value());
  const auto p = sample_provenance();
  write_provenance(results, p);
  CHECK(std::filesystem::exists(dir.path / "r.csv.json"));
  const auto back = read_provenance(results);
  REQUIRE(back.has_value());
  CHECK(provenance_differences(p, *back, true).empty());
  CHECK(back->dataset == p.dataset);
  CHECK(back->engine == "staged");
  CHECK(back->threads == 2);
  CHECK(back->shard.index == 2);
  CHECK(back->shard.count == 4);
  CHECK(back->injections == p.injections);
  CHECK(back->layout == "nchw");
  // A dnnfi without --layout wrote none: it ran NHWC only.
  std::ifstream in(dir.path / "r.csv.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = text.find("  \"layout\":\"nchw\",\n");
  REQUIRE(at != std::string::npos);
  std::ofstream(dir.path / "r.csv.json", std::ios::trunc) << text.erase(at, 18);
  CHECK(read_provenance(results)->layout == "nhwc");
  CHECK(back->adopted.empty());

  // An adoption of rows of unknown origin is kept on record, and is no difference of campaign.
  auto adopted = p;
  adopted.adopted = "12 rows of a file without provenance, adopted by dnnfi 0.1.0";
  write_provenance(results, adopted);
  const auto kept = read_provenance(results);
  REQUIRE(kept.has_value());
  CHECK(kept->adopted == adopted.adopted);
  CHECK(provenance_differences(p, *kept, true).empty());
}

TEST_CASE("what may differ between parts of one campaign, and what may not", "[provenance]") {
  const auto ours = sample_provenance();
  auto theirs = ours;
  theirs.engine = "naive";
  theirs.threads = 16;
  theirs.dnnfi_version = "9.9.9";
  theirs.model = "/elsewhere/resnet20.pt";  // the same bytes under another name
  CHECK(provenance_differences(ours, theirs, true).empty());
  theirs.shard.index = 1;
  CHECK(provenance_differences(ours, theirs, false).empty());
  REQUIRE(provenance_differences(ours, theirs, true).size() == 1);
  CHECK_THAT(provenance_differences(ours, theirs, true)[0], Contains("shard: 2/4 here, 1/4 in the file"));
  theirs = ours;
  theirs.layout = "nhwc";
  REQUIRE(provenance_differences(ours, theirs, false).size() == 1);
  CHECK_THAT(provenance_differences(ours, theirs, false)[0], Contains("layout: nchw here, nhwc in the file"));
  theirs = ours;
  theirs.images = 500;
  theirs.non_finite_rule = "critical";
  theirs.dataset_sha256 = std::string(64, 'f');
  const auto differences = provenance_differences(ours, theirs, false);
  REQUIRE(differences.size() == 3);
  CHECK_THAT(differences[0], Contains("dataset sha256"));
  CHECK_THAT(differences[1], Contains("images: 10000 here, 500 in the file"));
  CHECK_THAT(differences[2], Contains("non-finite rule: argmax here, critical in the file"));
}

TEST_CASE("a malformed or newer provenance file is refused, naming it", "[provenance]") {
  test::TempDir dir;
  const auto results = dir.path / "r.csv";
  std::ofstream(dir.path / "r.csv.json") << "{\n  \"provenance_version\":1,\n  \"model\" \"x\"\n}\n";
  CHECK_THROWS_WITH(read_provenance(results), Contains("r.csv.json:3: expected ':'"));
  std::ofstream(dir.path / "r.csv.json", std::ios::trunc) << "{\"provenance_version\":7}";
  CHECK_THROWS_WITH(read_provenance(results), Contains("provenance version 7 is newer"));
  std::ofstream(dir.path / "r.csv.json", std::ios::trunc) << "{\"provenance_version\":1}";
  CHECK_THROWS_AS(read_provenance(results), InputError);
}

TEST_CASE("one writer per results file: a second lock is refused while the first is held", "[provenance]") {
  test::TempDir dir;
  const auto results = dir.path / "out" / "r.csv";
  {
    FileLock first(results);
    CHECK(first.created());
    try {
      FileLock second(results);
      FAIL("a second writer was let in");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::kUsage);
      CHECK_THAT(e.what(), Contains("another dnnfi process is writing this results file"));
    }
  }
  FileLock again(results);  // released with the first
  CHECK_FALSE(again.created());
}
