#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "dnnfi/dataset.hpp"
#include "dnnfi/errors.hpp"
#include "test_support.hpp"

using namespace dnnfi;

TEST_CASE("the CIFAR-10 reader gives the official labels and normalized pixels", "[data]") {
  const auto file = test::shared_dir() / "data" / "cifar-10-batches-bin" / "test_batch.bin";
  auto data = read_cifar10(file, {{0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}}, 3);
  REQUIRE(data.size() == 3);
  CHECK(data.images.sizes() == torch::IntArrayRef({3, 3, 32, 32}));
  // The official test batch starts with a cat, a ship and a ship (labels 3, 8, 8).
  CHECK(data.labels[0].item<std::int64_t>() == 3);
  CHECK(data.labels[1].item<std::int64_t>() == 8);
  std::ifstream raw(file, std::ios::binary);
  unsigned char record[1 + 3072];
  raw.read(reinterpret_cast<char*>(record), sizeof record);
  // First red pixel, and first green pixel (offset 1024): (x/255 - 0.5) / 0.25.
  CHECK(data.images[0][0][0][0].item<float>() == (record[1] / 255.0f - 0.5f) / 0.25f);
  CHECK(data.images[0][1][0][0].item<float>() == (record[1 + 1024] / 255.0f - 0.5f) / 0.25f);
}

TEST_CASE("the CIFAR-100 reader uses the fine labels", "[data]") {
  const auto file = test::shared_dir() / "data" / "cifar-100-binary" / "test.bin";
  auto data = read_cifar100(file, {{0, 0, 0}, {1, 1, 1}});
  CHECK(data.size() == 10000);
  CHECK(data.labels.max().item<std::int64_t>() == 99);
  // 100 test images per fine class.
  CHECK(torch::bincount(data.labels).eq(100).all().item<bool>());
}

TEST_CASE("GTSRB sample: CRLF semicolon ground truth, PPMs with comment lines", "[data]") {
  const auto root = test::shared_dir() / "data" / "gtsrb-sample";
  auto data = read_gtsrb(root, {{0, 0, 0}, {1, 1, 1}}, 50, 100);
  CHECK(data.size() == 100);
  CHECK(data.images.sizes() == torch::IntArrayRef({100, 3, 50, 50}));
  CHECK(data.labels[0].item<std::int64_t>() == 16);  // 00000.ppm;...;16 in GT-final_test.csv
  CHECK(data.images.min().item<float>() >= 0.0f);
  CHECK(data.images.max().item<float>() <= 1.0f);
  const auto image = read_ppm(root / "Final_Test" / "Images" / "00000.ppm");
  CHECK(image.sizes() == torch::IntArrayRef({32, 32, 3}));
}

TEST_CASE("a GTSRB image that is missing is reported by name", "[data]") {
  CHECK_THROWS_WITH(read_gtsrb(test::shared_dir() / "data" / "gtsrb-sample", {{0, 0, 0}, {1, 1, 1}}, 50, 101),
                    Catch::Matchers::Contains("00100.ppm"));
}

// Hidden from a plain run: CTest runs it after making the PIL references (python.resize_fixtures).
TEST_CASE("GTSRB resize stays within one 8-bit level of PIL's", "[.][resize]") {
  const char* dir = std::getenv("DNNFI_RESIZE_FIXTURES");
  REQUIRE(dir != nullptr);
  int compared = 0, worst = 0;
  double differing = 0, total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".ppm") continue;
    auto ours = resize_like_pil(read_ppm(entry.path()), 50, 50).to(torch::kInt);
    std::ifstream raw(std::filesystem::path(entry.path()).replace_extension(".raw"), std::ios::binary);
    std::vector<unsigned char> pil(50 * 50 * 3);
    raw.read(reinterpret_cast<char*>(pil.data()), static_cast<std::streamsize>(pil.size()));
    REQUIRE(raw.gcount() == static_cast<std::streamsize>(pil.size()));
    auto reference = torch::from_blob(pil.data(), {50, 50, 3}, torch::kUInt8).to(torch::kInt);
    auto diff = (ours - reference).abs();
    worst = std::max(worst, diff.max().item<int>());
    differing += static_cast<double>(diff.gt(0).sum().item<std::int64_t>());
    total += static_cast<double>(diff.numel());
    ++compared;
  }
  REQUIRE(compared > 0);
  INFO("images " << compared << ", largest difference " << worst << ", pixels differing "
                 << 100.0 * differing / total << "%");
  CHECK(worst <= 1);
  WARN("resize vs PIL: " << compared << " images, largest difference " << worst << " level(s), "
                         << 100.0 * differing / total << "% of values differ");
}
