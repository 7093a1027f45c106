#pragma once
// Model info: what dnnfi knows of a TorchScript model beyond the module itself (layers, input,
// structure), in the file the exporter writes beside each export. Its schema and version live
// in one place, models/model_info.txt, which this reader and scripts/model_info.py both follow.
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnnfi/errors.hpp"
#include "dnnfi/fault.hpp"

namespace dnnfi {

// Geometry of a zero-padded Conv2d, to recompute single output channels.
struct ConvGeometry {
  std::vector<std::int64_t> stride, padding, dilation;
  std::int64_t groups = 1;
};

// A block computing post(main(x) + shortcut(x)), `main` being a plain sequence of children.
struct ResidualPlan {
  std::string block;              // module path, e.g. "layer2.1"
  std::vector<std::string> main;  // child names in order
  std::string shortcut, post;     // child names
};

struct ModelInfo {
  std::string name, dataset;
  int classes = 0;
  std::vector<std::int64_t> input;  // C, H, W
  std::vector<float> mean, std;     // the normalization the model was trained with
  std::string checkpoint;           // file the weights came from, "none" for a structure-only export
  bool sequential = false;          // forward is the plain sequence of the top-level children
  std::vector<Layer> layers;        // injectable layers in parameter order
  std::unordered_map<std::string, ConvGeometry> convs;  // by layer name
  std::vector<ResidualPlan> residuals;
};

// A model info file written for another version of the format.
class ModelInfoVersionError : public InputError {
 public:
  using InputError::InputError;
};

// The version of the model info format this dnnfi reads (models/model_info.txt).
int model_info_version();

// Reads and validates a model info file: unknown or repeated records, wrong field counts and
// malformed values are InputErrors naming the file and line; a file of another version says so
// (ModelInfoVersionError) so callers can re-export.
ModelInfo read_model_info(const std::filesystem::path& path);

}  // namespace dnnfi
