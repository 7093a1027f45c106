// The model info reader on its own: a real export, and files broken one record at a time.
#include <catch2/catch.hpp>

#include "dnnfi/errors.hpp"
#include "dnnfi/model_info.hpp"
#include "dnnfi/zoo.hpp"
#include "temp_dir.hpp"
#include "test_support.hpp"

using namespace dnnfi;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// The model info of ResNet20's full export (with its published weights).
std::string resnet20_info_text() {
  const auto where = resolve_locations(std::nullopt, std::nullopt);
  return test::read_text(zoo_model_files(find_model("resnet20", "cifar10"), where).info);
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// 1-based line of the first line starting with `prefix`.
long line_of(const std::string& text, const std::string& prefix) {
  long line = 1;
  for (std::size_t at = 0; at < text.size(); at = text.find('\n', at) + 1, ++line)
    if (text.compare(at, prefix.size(), prefix) == 0) return line;
  FAIL("no line starts with " << prefix);
  return 0;
}

std::string model_info_error(const std::string& text) {
  test::TempDir dir;
  const auto file = dir.path / "m.meta";
  test::write_text(file, text);
  try {
    read_model_info(file);
  } catch (const InputError& e) {
    return std::string(e.what()).substr(dir.path.string().size() + 1);  // from "m.meta:"
  }
  return "no error";
}

}  // namespace

TEST_CASE("the ResNet20 export's model info reads completely", "[modelinfo]") {
  test::TempDir dir;
  test::write_text(dir.path / "m.meta", resnet20_info_text());
  const auto info = read_model_info(dir.path / "m.meta");
  CHECK(info.name == "resnet20");
  CHECK(info.dataset == "cifar10");
  CHECK(info.classes == 10);
  CHECK(info.input == std::vector<std::int64_t>{3, 32, 32});
  CHECK(info.mean == std::vector<float>{0.4914f, 0.4822f, 0.4465f});
  CHECK(info.checkpoint == "ResNet20.th");
  CHECK(info.sequential);
  // The layer table is ResNet20's, in parameter order (He et al. 2016, section 4.2).
  const auto expected = test::resnet20_layers();
  REQUIRE(info.layers.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(info.layers[i].name == expected[i].name);
    CHECK(info.layers[i].shape == expected[i].shape);
  }
  CHECK(info.layers.front().macs == 16 * 3 * 3 * 3 * 32 * 32);
  // Structure for the staged engine: conv geometry and the nine residual blocks.
  const auto& g = info.convs.at("layer2.0.conv1");
  CHECK(g.stride == std::vector<std::int64_t>{2, 2});
  CHECK(g.padding == std::vector<std::int64_t>{1, 1});
  CHECK(g.groups == 1);
  REQUIRE(info.residuals.size() == 9);
  CHECK(info.residuals[4].block == "layer2.1");
  CHECK(info.residuals[4].main == std::vector<std::string>{"conv1", "bn1", "relu1", "conv2", "bn2"});
}

TEST_CASE("model info of this version is what this dnnfi reads", "[modelinfo]") {
  CHECK(model_info_version() > 0);
  CHECK_THAT(resnet20_info_text(), Contains("format " + std::to_string(model_info_version()) + "\n"));
}

TEST_CASE("malformed model info is refused with file and line", "[modelinfo]") {
  const auto good = resnet20_info_text();
  const auto layer = line_of(good, "layer ");
  CHECK_THAT(model_info_error(replace(good, "layer conv1 16x3x3x3 ", "layer conv1 16x3x3x3")),
             StartsWith("m.meta:" + std::to_string(layer) + ": record 'layer' takes 3 field(s), got 2"));
  CHECK_THAT(model_info_error(replace(good, "layer conv1 16x3x3x3", "layer conv1 16xAx3x3")),
             StartsWith("m.meta:" + std::to_string(layer) + ": malformed value"));
  CHECK_THAT(model_info_error(replace(good, "classes 10", "classes 10\nclasses 10")),
             StartsWith("m.meta:" + std::to_string(line_of(good, "classes ") + 1) +
                        ": record 'classes' appears twice"));
  CHECK_THAT(model_info_error(replace(good, "classes 10", "logits 10")),
             StartsWith("m.meta:" + std::to_string(line_of(good, "classes ")) + ": unknown record 'logits'"));
  CHECK_THAT(model_info_error(replace(good, "classes 10\n", "")),
             Contains("incomplete model info (no 'classes' record)"));
}

TEST_CASE("model info of another version says how to export the model again", "[modelinfo]") {
  const auto good = resnet20_info_text();
  const auto other = std::to_string(model_info_version() + 1);
  test::TempDir dir;
  test::write_text(dir.path / "m.meta",
                   replace(good, "format " + std::to_string(model_info_version()), "format " + other));
  CHECK_THROWS_AS(read_model_info(dir.path / "m.meta"), ModelInfoVersionError);
  CHECK_THROWS_WITH(
      read_model_info(dir.path / "m.meta"),
      Contains("model info version " + other) && Contains("export_model.py -n resnet20 -d cifar10"));
}
