// The seed's Keras fault lists, mapped onto the PyTorch layers of the same network.
#include <fstream>
#include <unordered_set>

#include "csv/fault_table.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/fault_list.hpp"
#include "dnnfi/word_format.hpp"
#include "text.hpp"

namespace dnnfi {
namespace {

// "conv2d" -> 0, "conv2d_7" -> 7: Keras numbers layers of one kind in creation order.
std::optional<std::size_t> keras_number(const std::string& name, const std::string& kind) {
  if (name == kind) return 0;
  if (name.rfind(kind + "_", 0) != 0) return std::nullopt;
  const auto n = text::parse_int(name.substr(kind.size() + 1));
  if (!n || *n < 1) return std::nullopt;
  return static_cast<std::size_t>(*n);
}

}  // namespace

FaultList read_keras_fault_list(const std::filesystem::path& path, const std::vector<Layer>& layers,
                                WordFormat format) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open the Keras fault list");
  std::vector<const Layer*> convs, denses;  // the PyTorch layers, in parameter order
  for (const auto& layer : layers) (layer.shape.size() == 4 ? convs : denses).push_back(&layer);

  csv::TableReader table(in, path.string(), kFaultListHeader);
  if (!table.starts_with({"Injection", "Layer", "TensorIndex", "Bit"}))
    table.fail("header must start with " + std::string(kFaultListHeader) + " (got '" + table.header_line() +
               "')");
  FaultList list;
  std::unordered_set<std::int64_t> injections;
  while (table.next()) {
    Fault fault = csv::read_fault_columns(table);
    if (!injections.insert(fault.injection).second)
      table.fail("Injection " + std::to_string(fault.injection) + " appears twice");
    const auto conv = keras_number(fault.layer, "conv2d");
    const auto dense = keras_number(fault.layer, "dense");
    const Layer* layer = nullptr;
    if (conv && *conv < convs.size()) layer = convs[*conv];
    if (dense && *dense < denses.size()) layer = denses[*dense];
    if (layer == nullptr)
      table.fail("Keras layer '" + fault.layer + "' has no PyTorch counterpart: the model has " +
                 std::to_string(convs.size()) + " conv layers (conv2d .. conv2d_" +
                 std::to_string(convs.empty() ? 0 : convs.size() - 1) + ") and " +
                 std::to_string(denses.size()) + " linear ones (dense ..)");
    const auto& k = fault.index;
    std::vector<std::int64_t> index;
    if (conv && k.size() == 4) index = {k[3], k[2], k[0], k[1]};  // (kh, kw, in, out) -> (out, in, kh, kw)
    if (dense && k.size() == 2) index = {k[1], k[0]};             // (in, out) -> (out, in)
    if (index.empty())
      table.fail("TensorIndex " + format_index(k) + " does not fit Keras layer " + fault.layer + " (" +
                 (conv ? "(kh, kw, in, out)" : "(in, out)") + " expected)");
    for (std::size_t d = 0; d < index.size(); ++d)
      if (index[d] < 0 || index[d] >= layer->shape[d])
        table.fail("TensorIndex " + format_index(k) + " of " + fault.layer + " is out of range for " +
                   layer->name + ".weight of shape " + format_shape(layer->shape) + " (as " +
                   format_index(index) + ")");
    if (fault.bits.word() & ~all_bits(format).word())
      table.fail("Bit " + format_bits(fault.bits) + " is past the word of " + std::string(to_string(format)) +
                 " (bits 0-" + std::to_string(word_bits(format) - 1) +
                 "); the seed's Keras lists fault fp32 words");
    fault.layer = layer->name;
    fault.index = std::move(index);
    list.faults.push_back(std::move(fault));
  }
  return list;
}

}  // namespace dnnfi
