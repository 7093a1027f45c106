// `dnnfi report`: per-fault counts summed into per-model, per-layer and per-bit findings.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "comparison_json.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/findings.hpp"

namespace dnnfi {
namespace {

// The format's fields, most significant first (sign, exponent, mantissa), as reports show them.
std::vector<std::string_view> field_names(WordFormat format) {
  std::vector<std::string_view> names;
  for (const auto& field : bit_fields(format)) names.insert(names.begin(), field.name);
  return names;
}

// Sums of one group, turned into GroupStats at the end.
struct Tally {
  std::int64_t faults = 0, critical_faults = 0, images = 0, masked = 0;
  std::optional<std::int64_t> non_finite = 0;  // unknown once one row does not record it
  double sdc1_sum = 0, sdc1_squares = 0;
  void add(const ResultRow& row) {
    ++faults;
    critical_faults += row.counts.critical > 0;
    images += row.counts.injections;
    masked += row.counts.masked;
    non_finite = non_finite && row.counts.non_finite ? std::optional(*non_finite + *row.counts.non_finite)
                                                     : std::nullopt;
    const double rate =
        row.counts.injections ? static_cast<double>(row.counts.critical) / row.counts.injections : 0;
    sdc1_sum += rate;
    sdc1_squares += rate * rate;
  }
  GroupStats stats(std::string name, double population = 0) const {
    GroupStats s;
    s.name = std::move(name);
    s.faults = faults;
    s.critical_faults = critical_faults;
    s.critical_fault_rate = faults ? static_cast<double>(critical_faults) / faults : 0;
    s.ci99 =
        wilson_interval(static_cast<double>(critical_faults), static_cast<double>(faults), kZ99, population);
    s.mean_sdc1 = faults ? sdc1_sum / faults : 0;
    // A simple random sample: one stratum, the group its domain (population 0: unbounded, no
    // finite-population correction).
    s.sdc1_ci99 =
        domain_mean({DomainCell{population > 0 ? population : 1e18, faults, faults, sdc1_sum, sdc1_squares}},
                    Estimand::kInferences, kZ99)
            .interval;
    s.masked_share = images ? static_cast<double>(masked) / images : 0;
    s.non_finite_share =
        non_finite ? std::optional(images ? static_cast<double>(*non_finite) / images : 0.0) : std::nullopt;
    return s;
  }
};

double sdc1(const ResultRow& row) {
  return row.counts.injections ? static_cast<double>(row.counts.critical) / row.counts.injections : 0;
}

}  // namespace

std::string_view bit_field(int bit, WordFormat format) { return field_of(format, bit); }

Design parse_design(const std::string& description, const std::string& strata, const std::string& members,
                    const std::string& source) {
  const auto bad = [&](const std::string& what) {
    return InputError(source + ": its provenance's design is not readable: " + what);
  };
  Design design;
  design.description = description;
  for (std::size_t start = 0; start < strata.size();) {
    const auto end = std::min(strata.find(';', start), strata.size());
    const auto item = strata.substr(start, end - start);
    const auto eq = item.rfind('=');
    if (eq == std::string::npos || eq == 0) throw bad("stratum '" + item + "' has no population");
    double n = 0;
    try {
      std::size_t used = 0;
      n = std::stod(item.substr(eq + 1), &used);
      if (used != item.size() - eq - 1 || !(n >= 0)) throw std::invalid_argument("");
    } catch (const std::exception&) {
      throw bad("stratum '" + item + "': its population is not a number");
    }
    design.strata.push_back(item.substr(0, eq));
    design.populations.push_back(n);
    start = end + 1;
  }
  if (design.strata.empty()) throw bad("no strata");
  for (std::size_t start = 0; start < members.size();) {
    const auto end = std::min(members.find(',', start), members.size());
    const auto item = members.substr(start, end - start);
    const auto colon = item.find(':');
    try {
      std::size_t a = 0, b = 0;
      const auto injection = std::stoll(item.substr(0, colon), &a);
      const auto h = std::stoull(item.substr(colon + 1), &b);
      if (colon == std::string::npos || a != colon || b != item.size() - colon - 1)
        throw std::invalid_argument("");
      if (h >= design.strata.size()) throw bad("fault " + item + " names a stratum past the last");
      if (!design.stratum_of.emplace(injection, h).second) throw bad("fault " + item + " is listed twice");
    } catch (const std::logic_error&) {
      throw bad("member '" + item + "' is not injection:stratum");
    }
    start = end + 1;
  }
  return design;
}

namespace {

// The weighted findings of a design: both rates stratified, each stratum's own, and layers and
// bits weighted by N_h / n_h.
DesignFindings design_findings(const Design& design, const std::vector<ResultRow>& rows,
                               const std::string& source) {
  const std::size_t k = design.strata.size();
  std::vector<StratumSample> faults(k), inferences(k);
  std::vector<Tally> tallies(k);
  for (std::size_t h = 0; h < k; ++h) {
    faults[h].name = inferences[h].name = design.strata[h];
    faults[h].population = inferences[h].population = design.populations[h];
    // Faults that leave their word unchanged (the "unchanged" stratum of data-aware strata).
    faults[h].exact = inferences[h].exact = design.strata[h] == "unchanged";
  }
  std::vector<std::size_t> of_row;
  for (const auto& row : rows) {
    const auto it = design.stratum_of.find(row.fault.injection);
    if (it == design.stratum_of.end())
      throw InputError(source + ": Injection " + std::to_string(row.fault.injection) +
                       " is not a fault the campaign's design drew (its provenance)");
    const auto h = it->second;
    faults[h].add(row.counts.critical > 0 ? 1.0 : 0.0);
    inferences[h].add(sdc1(row));
    tallies[h].add(row);
    of_row.push_back(h);
  }
  DesignFindings d;
  d.description = design.description;
  for (double n : design.populations) d.population += n;
  d.faults = stratified_mean(faults, Estimand::kFaults, kZ99);
  d.inferences = stratified_mean(inferences, Estimand::kInferences, kZ99);
  const double n = static_cast<double>(rows.size()), p = d.faults.value, big_n = d.population;
  const double srs_variance = big_n > 1 ? p * (1 - p) / n * (big_n - n) / (big_n - 1) : p * (1 - p) / n;
  d.design_effect = srs_variance > 0 ? d.faults.variance / srs_variance : 0;
  const double e = d.faults.interval.half_width();
  if (e > 0) {
    const double n0 = kZ99 * kZ99 * p * (1 - p) / (e * e);
    d.simple_random_needs = big_n > 0 ? n0 / (1 + n0 / big_n) : n0;
  }
  for (std::size_t h = 0; h < k; ++h) {
    DesignStratum s;
    s.name = design.strata[h];
    s.population = design.populations[h];
    s.exact = faults[h].exact;
    s.drawn = tallies[h].faults;
    s.critical_faults = tallies[h].critical_faults;
    s.critical_fault_rate = s.drawn ? static_cast<double>(s.critical_faults) / s.drawn : 0;
    s.ci99 = wilson_interval(static_cast<double>(s.critical_faults), static_cast<double>(s.drawn), kZ99,
                             s.population);
    s.mean_sdc1 = s.drawn ? tallies[h].sdc1_sum / s.drawn : 0;
    d.strata.push_back(std::move(s));
  }
  // Layers and bits: each fault drawn stands for N_h / n_h faults of the population; each group
  // is a domain of the stratified sample, its cells the strata it has draws in.
  struct Group {
    std::map<std::size_t, DomainCell> faults, inferences;  // by stratum
  };
  std::map<std::string, Group> layers;
  std::map<int, Group> bits;
  std::vector<std::string> layer_order;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto h = of_row[i];
    const double c = rows[i].counts.critical > 0 ? 1.0 : 0.0, s = sdc1(rows[i]);
    if (!layers.count(rows[i].fault.layer)) layer_order.push_back(rows[i].fault.layer);
    for (auto* group : {&layers[rows[i].fault.layer], &bits[rows[i].fault.bits.lowest()]})
      for (auto [cells, value] : {std::pair{&group->faults, c}, std::pair{&group->inferences, s}}) {
        auto& cell = (*cells)[h];
        cell.population = design.populations[h];
        cell.drawn = tallies[h].faults;
        ++cell.in_domain;
        cell.sum += value;
        cell.sum_squares += value * value;
      }
  }
  const auto weighted = [](std::string name, const Group& g) {
    const auto cells = [](const std::map<std::size_t, DomainCell>& by_stratum) {
      std::vector<DomainCell> out;
      for (const auto& [h, cell] : by_stratum) out.push_back(cell);
      return out;
    };
    const auto per_fault = domain_mean(cells(g.faults), Estimand::kFaults, kZ99);
    const auto per_inference = domain_mean(cells(g.inferences), Estimand::kInferences, kZ99);
    WeightedGroup w;
    w.name = std::move(name);
    for (const auto& [h, cell] : g.faults) {
      w.drawn += cell.in_domain;
      w.population += cell.population * static_cast<double>(cell.in_domain) / static_cast<double>(cell.drawn);
    }
    w.critical_fault_rate = per_fault.value;
    w.mean_sdc1 = per_inference.value;
    w.faults_ci99 = per_fault.interval;
    w.sdc1_ci99 = per_inference.interval;
    return w;
  };
  for (const auto& name : layer_order) d.layers.push_back(weighted(name, layers.at(name)));
  for (const auto& [bit, g] : bits) d.bits.push_back(weighted(std::to_string(bit), g));
  return d;
}

}  // namespace

Report make_report(const std::vector<ResultRow>& rows, const std::string& source,
                   const ReportOptions& options) {
  if (rows.empty()) throw InputError(source + ": no results rows to report on");
  Report report;
  report.source = source;

  // Layers in network order: the model's when given (every row must be one of its layers),
  // else the order of first appearance.
  std::vector<std::string> layer_order;
  std::map<std::string, std::size_t> layer_index;
  double weights = 0;
  for (const auto& layer : options.layers) {
    layer_index.emplace(layer.name, layer_order.size());
    layer_order.push_back(layer.name);
    weights += static_cast<double>(layer.numel());
  }
  for (const auto& row : rows) {
    if (layer_index.count(row.fault.layer)) continue;
    if (!options.layers.empty())
      throw InputError(source + ": layer '" + row.fault.layer + "' (Injection " +
                       std::to_string(row.fault.injection) + ") is not a layer of the model given");
    layer_index.emplace(row.fault.layer, layer_order.size());
    layer_order.push_back(row.fault.layer);
  }
  report.format = options.format;
  report.target = options.target;
  report.population =
      options.layers.empty() ? 0 : population(options.layers, options.format, options.bits, options.burst);
  std::vector<Stratum> strata;
  for (const auto& layer : options.layers)
    strata.push_back(Stratum{layer.name, static_cast<double>(layer.numel()) / weights,
                             population({layer}, options.format, options.bits, options.burst), 0, 0});

  const int width = word_bits(options.format);
  const auto names = field_names(options.format);
  const auto field_index = [&](int bit) {
    return static_cast<std::size_t>(std::find(names.begin(), names.end(), field_of(options.format, bit)) -
                                    names.begin());
  };
  Tally overall;
  std::vector<Tally> layers(layer_order.size());
  std::vector<std::vector<Tally>> layer_fields(layer_order.size(), std::vector<Tally>(names.size()));
  std::vector<Tally> bits(static_cast<std::size_t>(width));
  std::vector<Tally> fields(names.size());
  std::set<std::string> models, rules;
  std::set<std::int64_t> images;
  for (const auto& row : rows) {
    const int bit = row.fault.bits.lowest();
    if (bit >= width)
      throw InputError(source + ": Injection " + std::to_string(row.fault.injection) + " faults bit " +
                       std::to_string(bit) + ", past the " + std::to_string(width) + " bits of " +
                       std::string(to_string(options.format)) + " (is --format right?)");
    const auto l = layer_index.at(row.fault.layer);
    overall.add(row);
    layers[l].add(row);
    bits[static_cast<std::size_t>(bit)].add(row);
    fields[field_index(bit)].add(row);
    layer_fields[l][field_index(bit)].add(row);
    models.emplace(to_string(row.fault.model));
    rules.emplace(to_string(row.rule));
    images.insert(row.counts.injections);
    if (row.counts.critical > 0) report.critical_sdc1.push_back(sdc1(row));
    if (!strata.empty()) {
      ++strata[l].drawn;
      strata[l].critical += row.counts.critical > 0;
    }
  }
  report.images = images.size() == 1 ? *images.begin() : 0;
  report.fault_models.assign(models.begin(), models.end());
  report.rules.assign(rules.begin(), rules.end());
  report.overall = overall.stats("all", report.population);
  report.margin = achieved_margin(static_cast<double>(rows.size()), report.population);
  if (!strata.empty()) report.stratified = stratified_estimate(strata, kZ99);
  for (std::size_t l = 0; l < layer_order.size(); ++l) {
    if (layers[l].faults == 0) continue;
    report.layers.push_back(layers[l].stats(layer_order[l]));
    std::vector<GroupStats> per_field;
    for (std::size_t f = 0; f < names.size(); ++f)
      per_field.push_back(layer_fields[l][f].stats(std::string(names[f])));
    report.layer_fields.push_back(std::move(per_field));
  }
  for (int bit = 0; bit < width; ++bit)
    if (bits[static_cast<std::size_t>(bit)].faults)
      report.bits.push_back(bits[static_cast<std::size_t>(bit)].stats(std::to_string(bit)));
  for (std::size_t f = 0; f < names.size(); ++f)
    if (fields[f].faults) report.fields.push_back(fields[f].stats(std::string(names[f])));

  if (options.design) {
    report.design = design_findings(*options.design, rows, source);
    std::stable_sort(report.design->layers.begin(), report.design->layers.end(),
                     [&](const WeightedGroup& a, const WeightedGroup& b) {
                       return layer_index.at(a.name) < layer_index.at(b.name);
                     });
    report.stratified.reset();  // layers as strata describe a sample drawn in proportion to them only
  }

  report.most_critical = rows;
  std::stable_sort(report.most_critical.begin(), report.most_critical.end(),
                   [](const ResultRow& a, const ResultRow& b) { return sdc1(a) > sdc1(b); });
  report.most_critical.resize(std::min(options.most_critical, report.most_critical.size()));
  std::sort(report.critical_sdc1.begin(), report.critical_sdc1.end());
  return report;
}

PerImageFindings per_image_findings(const PerImageFile& file, std::int64_t faults,
                                    const std::string& source) {
  PerImageFindings p;
  p.source = source;
  p.faults = faults;
  p.images = file.head.images();
  const auto& golden = file.head.golden;
  const auto& labels = file.head.labels;
  std::int64_t classes = 0;
  for (const auto c : golden) classes = std::max(classes, c + 1);
  for (const auto c : labels) classes = std::max(classes, c + 1);
  for (const auto& fault : file.faults)
    for (const auto& image : fault.images) classes = std::max(classes, image.faulty + 1);
  p.classes = classes;
  const auto k = static_cast<std::size_t>(classes);
  p.class_images.assign(k, 0);
  p.class_critical.assign(k, 0);
  p.confusion.assign(k, std::vector<std::int64_t>(k, 0));
  for (const auto c : golden) ++p.class_images[static_cast<std::size_t>(c)];
  std::vector<std::int64_t> image_faults(golden.size(), 0);
  for (const auto& fault : file.faults)
    for (const auto& image : fault.images) {
      const auto g = static_cast<std::size_t>(golden[static_cast<std::size_t>(image.image)]);
      ++p.class_critical[g];
      ++p.confusion[g][static_cast<std::size_t>(image.faulty)];
      ++image_faults[static_cast<std::size_t>(image.image)];
      ++p.critical;
    }
  p.class_rate.assign(k, 0);
  for (std::size_t c = 0; c < k; ++c)
    if (p.class_images[c] > 0 && faults > 0)
      p.class_rate[c] =
          static_cast<double>(p.class_critical[c]) / static_cast<double>(faults * p.class_images[c]);
  std::vector<std::size_t> order(golden.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  const auto shown = std::min<std::size_t>(10, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(shown), order.end(),
                    [&](std::size_t a, std::size_t b) {
                      return image_faults[a] != image_faults[b] ? image_faults[a] > image_faults[b] : a < b;
                    });
  for (std::size_t i = 0; i < shown && image_faults[order[i]] > 0; ++i)
    p.most_vulnerable.push_back(
        {static_cast<std::int64_t>(order[i]), labels[order[i]], golden[order[i]], image_faults[order[i]]});
  return p;
}

namespace {

void per_image_json(json::Writer& out, const PerImageFindings& p) {
  out.key("per_image").begin_object();
  out.key("source").string(p.source);
  out.key("faults").number(p.faults);
  out.key("images").number(p.images);
  out.key("classes").number(p.classes);
  out.key("critical_images").number(p.critical);
  out.key("by_class").begin_array();
  for (std::size_t c = 0; c < p.class_images.size(); ++c) {
    out.begin_object();
    out.key("class").number(static_cast<std::int64_t>(c));
    out.key("images").number(p.class_images[c]);
    out.key("critical_images").number(p.class_critical[c]);
    out.key("critical_rate").number(p.class_rate[c]);
    out.end_object();
  }
  out.end_array();
  out.key("confusion").begin_array();  // [golden][faulty]
  for (const auto& row : p.confusion) {
    out.begin_array();
    for (const auto v : row) out.number(v);
    out.end_array();
  }
  out.end_array();
  out.key("most_vulnerable_images").begin_array();
  for (const auto& image : p.most_vulnerable) {
    out.begin_object();
    out.key("image").number(image.image);
    out.key("label").number(image.label);
    out.key("golden").number(image.golden);
    out.key("faults").number(image.faults);
    out.end_object();
  }
  out.end_array();
  out.end_object();
}

std::string per_image_text(const PerImageFindings& p, bool weighted_design) {
  std::string text = fmt::format(
      "\nper-image outcomes  {}: {} critical images of {} faults x {} images{}\n"
      "critical rate per golden class, most vulnerable first{}\n",
      p.source, p.critical, p.faults, p.images, weighted_design ? " (the faults drawn, unweighted)" : "",
      p.class_images.size() > 10 ? fmt::format(" (10 of {})", p.class_images.size()) : std::string());
  std::vector<std::size_t> classes(p.class_images.size());
  for (std::size_t c = 0; c < classes.size(); ++c) classes[c] = c;
  std::stable_sort(classes.begin(), classes.end(),
                   [&](std::size_t a, std::size_t b) { return p.class_rate[a] > p.class_rate[b]; });
  const auto shown = std::min<std::size_t>(classes.size(), 10);
  text += fmt::format("{:<20} {:>7} {:>10} {:>9}   {}\n", "golden class", "images", "critical", "rate",
                      "most often became");
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = classes[i];
    const auto& row = p.confusion[c];
    const auto top = static_cast<std::size_t>(std::max_element(row.begin(), row.end()) - row.begin());
    text += fmt::format("{:<20} {:>7} {:>10} {:>8.3f}%   {}\n", c, p.class_images[c], p.class_critical[c],
                        100 * p.class_rate[c],
                        row[top] > 0 ? fmt::format("{} ({} images)", top, row[top]) : std::string("-"));
  }
  // The golden -> faulty pairs with the most critical images: the heat map's hottest cells.
  std::vector<std::tuple<std::int64_t, std::size_t, std::size_t>> pairs;
  for (std::size_t g = 0; g < p.confusion.size(); ++g)
    for (std::size_t f = 0; f < p.confusion[g].size(); ++f)
      if (p.confusion[g][f] > 0) pairs.emplace_back(-p.confusion[g][f], g, f);
  std::sort(pairs.begin(), pairs.end());
  text += "golden -> faulty    ";
  for (std::size_t i = 0; i < pairs.size() && i < 6; ++i)
    text += fmt::format("{}{} -> {}: {}", i ? ", " : "", std::get<1>(pairs[i]), std::get<2>(pairs[i]),
                        -std::get<0>(pairs[i]));
  text += pairs.empty() ? "none critical\n" : "\n";
  if (!p.most_vulnerable.empty()) {
    text += "most vulnerable images (image: faults that made it critical) ";
    for (std::size_t i = 0; i < p.most_vulnerable.size() && i < 5; ++i)
      text += fmt::format("{}{}: {}", i ? ", " : "", p.most_vulnerable[i].image, p.most_vulnerable[i].faults);
    text += "\n";
  }
  return text;
}

void group_json(json::Writer& out, const GroupStats& g, const char* key, WordFormat format) {
  out.begin_object();
  if (std::string_view(key) == "bit") {
    out.key("bit").number(std::stoll(g.name));
    out.key("field").string(bit_field(std::stoi(g.name), format));
  } else {
    out.key(key).string(g.name);
  }
  out.key("faults").number(g.faults);
  out.key("critical_faults").number(g.critical_faults);
  out.key("critical_fault_rate").number(g.critical_fault_rate);
  out.key("ci99").begin_array().number(g.ci99.low).number(g.ci99.high).end_array();
  out.key("mean_sdc1_rate").number(g.mean_sdc1);
  out.key("sdc1_ci99").begin_array().number(g.sdc1_ci99.low).number(g.sdc1_ci99.high).end_array();
  out.key("masked_share").number(g.masked_share);
  out.key("non_finite_share").number(g.non_finite_share);
  out.end_object();
}

void row_json(json::Writer& out, const ResultRow& r) {
  out.begin_object();
  out.key("injection").number(r.fault.injection);
  out.key("layer").string(r.fault.layer);
  out.key("index").string(format_index(r.fault.index));
  out.key("bit").string(format_bits(r.fault.bits));
  out.key("fault_model").string(to_string(r.fault.model));
  out.key("n_injections").number(r.counts.injections);
  out.key("masked").number(r.counts.masked);
  out.key("non_critical").number(r.counts.non_critical);
  out.key("critical").number(r.counts.critical);
  out.key("non_finite").number(r.counts.non_finite);
  out.key("sdc1_rate")
      .number(r.counts.injections ? static_cast<double>(r.counts.critical) / r.counts.injections : 0);
  out.end_object();
}

void mean_json(json::Writer& out, const char* key, const char* rate, const StratifiedMean& m) {
  out.key(key).begin_object();
  out.key(rate).number(m.value);
  out.key("ci99").begin_array().number(m.interval.low).number(m.interval.high).end_array();
  out.key("half_width").number(m.interval.half_width());
  out.key("effective_sample_size").number(m.effective);
  out.end_object();
}

// A stratified campaign's findings: both rates as the design weighs them, the strata, and layers
// and bits weighted.
void design_json(json::Writer& out, const DesignFindings& d) {
  out.key("design").begin_object();
  out.key("description").string(d.description);
  out.key("population").number(d.population);
  out.key("interval").string("Wilson at the effective sample size, finite-population corrected, 99%");
  mean_json(out, "faults", "critical_fault_rate", d.faults);
  mean_json(out, "inferences", "sdc1_rate", d.inferences);
  out.key("design_effect").number(d.design_effect);
  out.key("simple_random_needs").number(d.simple_random_needs);
  out.key("strata").begin_array();
  for (const auto& s : d.strata) {
    out.begin_object();
    out.key("stratum").string(s.name);
    out.key("population").number(s.population);
    out.key("exact").boolean(s.exact);
    out.key("faults").number(s.drawn);
    out.key("critical_faults").number(s.critical_faults);
    out.key("critical_fault_rate").number(s.critical_fault_rate);
    out.key("ci99").begin_array().number(s.ci99.low).number(s.ci99.high).end_array();
    out.key("mean_sdc1_rate").number(s.mean_sdc1);
    out.end_object();
  }
  out.end_array();
  for (const auto* key : {"layers", "bits"}) {
    out.key(key).begin_array();
    for (const auto& g : std::string_view(key) == "layers" ? d.layers : d.bits) {
      out.begin_object();
      if (std::string_view(key) == "layers")
        out.key("layer").string(g.name);
      else
        out.key("bit").number(std::stoll(g.name));
      out.key("faults").number(g.drawn);
      out.key("population").number(g.population);
      out.key("critical_fault_rate").number(g.critical_fault_rate);
      out.key("ci99").begin_array().number(g.faults_ci99.low).number(g.faults_ci99.high).end_array();
      out.key("mean_sdc1_rate").number(g.mean_sdc1);
      out.key("sdc1_ci99").begin_array().number(g.sdc1_ci99.low).number(g.sdc1_ci99.high).end_array();
      out.end_object();
    }
    out.end_array();
  }
  out.end_object();
}

std::string percent(double rate) { return fmt::format("{:.1f}%", 100 * rate); }

std::string interval(const Interval& ci) {
  return fmt::format("[{:.1f}%, {:.1f}%]", 100 * ci.low, 100 * ci.high);
}

// An interval of a per-inference rate (often well under 1%).
std::string fine_interval(const Interval& ci) {
  return fmt::format("[{:.3f}%, {:.3f}%]", 100 * ci.low, 100 * ci.high);
}

std::string join(const std::vector<std::string>& values) {
  std::string text;
  for (const auto& v : values) text += (text.empty() ? "" : ", ") + v;
  return text;
}

// One table row of a group: name, faults, critical faults, rate, interval, mean SDC-1, masked.
std::string group_line(const GroupStats& g) {
  return fmt::format("{:<20.20} {:>7} {:>8} {:>7} {:>17} {:>10.3f}% {:>19} {:>7}\n", g.name, g.faults,
                     g.critical_faults, percent(g.critical_fault_rate), interval(g.ci99), 100 * g.mean_sdc1,
                     fine_interval(g.sdc1_ci99), percent(g.masked_share));
}

std::string design_text(const DesignFindings& d) {
  std::string text = fmt::format("design           {}\n", d.description);
  text += fmt::format(
      "critical faults  {:.2f}% [{:.2f}%, {:.2f}%] of the {:.0f} faults of the population "
      "(stratified; 99% Wilson at the effective sample size {:.0f}, finite-population "
      "corrected)\n",
      100 * d.faults.value, 100 * d.faults.interval.low, 100 * d.faults.interval.high, d.population,
      d.faults.effective);
  text += fmt::format(
      "SDC-1 rate       {:.3f}% [{:.3f}%, {:.3f}%] per inference (stratified; 99% Wilson at the "
      "effective sample size {:.0f})\n",
      100 * d.inferences.value, 100 * d.inferences.interval.low, 100 * d.inferences.interval.high,
      d.inferences.effective);
  text += fmt::format(
      "design effect    {:.3f}: a simple random sample would need {:.0f} faults for the same "
      "+-{:.2f}% (this design drew {})\n",
      d.design_effect, d.simple_random_needs, 100 * d.faults.interval.half_width(), d.faults.drawn);
  text += fmt::format("\n{:<28} {:>10} {:>7} {:>8} {:>7} {:>17} {:>11}\n", "stratum", "population", "faults",
                      "critical", "rate", "99% interval", "mean SDC-1");
  for (const auto& s : d.strata)
    text += s.exact ? fmt::format("{:<28.28} {:>10.0f} {:>7} {:>8} {:>7} {:>17} {:>11}\n", s.name,
                                  s.population, "-", "-", "0.0%", "exact: masked", "0.000%")
                    : fmt::format("{:<28.28} {:>10.0f} {:>7} {:>8} {:>7} {:>17} {:>10.3f}%\n", s.name,
                                  s.population, s.drawn, s.critical_faults, percent(s.critical_fault_rate),
                                  interval(s.ci99), 100 * s.mean_sdc1);
  for (const auto* title : {"layer (weighted)", "bit (weighted)"}) {
    text += fmt::format("\n{:<28} {:>10} {:>7} {:>13} {:>17} {:>11} {:>19}\n", title, "population", "faults",
                        "critical rate", "99% interval", "mean SDC-1", "99% interval");
    for (const auto& g : std::string_view(title) == "layer (weighted)" ? d.layers : d.bits)
      text += fmt::format("{:<28.28} {:>10.0f} {:>7} {:>13} {:>17} {:>10.3f}% {:>19}\n", g.name, g.population,
                          g.drawn, percent(g.critical_fault_rate), interval(g.faults_ci99), 100 * g.mean_sdc1,
                          fine_interval(g.sdc1_ci99));
  }
  text +=
      "(weighted: each fault drawn stands for N_h / n_h faults of its stratum; 99% intervals of a layer or "
      "a bit as a domain of the stratified sample, Wilson at the effective sample size)\n\nthe faults drawn, "
      "unweighted:\n";
  return text;
}

std::string group_table(const char* title, const std::vector<GroupStats>& groups) {
  std::string text = fmt::format("\n{:<20} {:>7} {:>8} {:>7} {:>17} {:>11} {:>19} {:>7}\n", title, "faults",
                                 "critical", "rate", "99% interval", "mean SDC-1", "99% interval", "masked");
  for (const auto& g : groups) text += group_line(g);
  return text;
}

}  // namespace

std::string report_json(const Report& r, const Comparison* reference) {
  json::Writer out;
  out.begin_object();
  out.key("kind").string("dnnfi report");  // first: how dnnfi recognises a file it may replace
  out.key("source").string(r.source);
  out.key("format").string(to_string(r.format));
  out.key("word_bits").number(word_bits(r.format));
  out.key("target").string(to_string(r.target));
  out.key("field_names").begin_array();
  for (const auto& name : field_names(r.format)) out.string(name);
  out.end_array();
  out.key("n_injections").number(r.images);
  out.key("fault_models").begin_array();
  for (const auto& m : r.fault_models) out.string(m);
  out.end_array();
  out.key("non_finite_rules").begin_array();
  for (const auto& m : r.rules) out.string(m);
  out.end_array();
  out.key("faults").number(r.overall.faults);
  out.key("critical_faults").number(r.overall.critical_faults);
  out.key("critical_fault_rate").number(r.overall.critical_fault_rate);
  out.key("ci99").begin_array().number(r.overall.ci99.low).number(r.overall.ci99.high).end_array();
  out.key("mean_sdc1_rate").number(r.overall.mean_sdc1);
  out.key("sdc1_ci99")
      .begin_array()
      .number(r.overall.sdc1_ci99.low)
      .number(r.overall.sdc1_ci99.high)
      .end_array();
  out.key("masked_share").number(r.overall.masked_share);
  out.key("non_finite_share").number(r.overall.non_finite_share);
  out.key("population").number(r.population);
  out.key("margin").number(r.margin);
  if (r.stratified) {
    out.key("stratified").begin_object();
    out.key("critical_fault_rate").number(r.stratified->rate);
    out.key("ci99")
        .begin_array()
        .number(r.stratified->interval.low)
        .number(r.stratified->interval.high)
        .end_array();
    out.key("half_width").number(r.stratified->interval.half_width());
    out.end_object();
  }
  if (r.design) design_json(out, *r.design);
  out.key("layers").begin_array();
  for (const auto& g : r.layers) group_json(out, g, "layer", r.format);
  out.end_array();
  out.key("bits").begin_array();
  for (const auto& g : r.bits) group_json(out, g, "bit", r.format);
  out.end_array();
  out.key("fields").begin_array();
  for (const auto& g : r.fields) group_json(out, g, "field", r.format);
  out.end_array();
  out.key("layer_fields").begin_array();
  for (std::size_t l = 0; l < r.layers.size(); ++l) {
    out.begin_object().key("layer").string(r.layers[l].name).key("fields").begin_array();
    for (const auto& g : r.layer_fields[l]) group_json(out, g, "field", r.format);
    out.end_array().end_object();
  }
  out.end_array();
  out.key("critical_sdc1_rates").begin_array();
  for (double v : r.critical_sdc1) out.number(v);
  out.end_array();
  out.key("most_critical").begin_array();
  for (const auto& row : r.most_critical) row_json(out, row);
  out.end_array();
  if (r.per_image) per_image_json(out, *r.per_image);
  if (reference) {
    out.key("reference");
    write_json(out, *reference);
  }
  out.end_object();
  return out.str() + "\n";
}

std::string report_text(const Report& r) {
  const auto& o = r.overall;
  std::string text = fmt::format("{}: {} faults x {} images ({}; non-finite images: {})\n", r.source,
                                 o.faults, r.images ? std::to_string(r.images) : std::string("varying"),
                                 join(r.fault_models), join(r.rules));
  text += fmt::format("faults in        {} stored as {} ({} bits)\n", to_string(r.target),
                      to_string(r.format), word_bits(r.format));
  if (r.design) text += design_text(*r.design);
  text += fmt::format("critical faults  {} of {} = {} {} (99% Wilson{})\n", o.critical_faults, o.faults,
                      percent(o.critical_fault_rate), interval(o.ci99),
                      r.design ? "; of the faults drawn, unweighted" : "");
  if (r.design) {
    // the margin of a simple random sample does not apply
  } else if (r.margin > 1)  // a half-width past 100% says nothing: the sample is too small for one
    text +=
        fmt::format("margin of error  none: {} faults are too few for a margin at 99% (p = 0.5)\n", o.faults);
  else if (r.population > 0)
    text += fmt::format("margin of error  +-{:.2f}% for the model's {:.0f} possible faults (99%, p = 0.5)\n",
                        100 * r.margin, r.population);
  else
    text +=
        fmt::format("margin of error  +-{:.2f}% (99%, p = 0.5; -n/-d give the model's fault population)\n",
                    100 * r.margin);
  if (r.stratified)
    text += fmt::format("stratified       {} {} (99%, layers as strata): achieved margin +-{:.2f}%\n",
                        percent(r.stratified->rate), interval(r.stratified->interval),
                        100 * r.stratified->interval.half_width());
  text += fmt::format("mean SDC-1 rate  {:.3f}% {} (99%)   masked images {}   NaN/Inf images {}\n",
                      100 * o.mean_sdc1, fine_interval(o.sdc1_ci99), percent(o.masked_share),
                      o.non_finite_share ? percent(*o.non_finite_share) : "n/a (not recorded)");
  text += group_table("layer", r.layers);
  text += group_table("bit field", r.fields);
  text += group_table("bit", r.bits);
  text += fmt::format("\n{:<20} {:<16} {:>4} {:>9} {:>9} {:>9} {:>9}\n", "most critical", "index", "bit",
                      "masked", "non-crit.", "critical", "SDC-1");
  for (const auto& row : r.most_critical)
    text += fmt::format("{:<20.20} {:<16.16} {:>4} {:>9} {:>9} {:>9} {:>8.2f}%\n", row.fault.layer,
                        format_index(row.fault.index), format_bits(row.fault.bits), row.counts.masked,
                        row.counts.non_critical, row.counts.critical,
                        row.counts.injections ? 100.0 * row.counts.critical / row.counts.injections : 0.0);
  if (r.per_image) text += per_image_text(*r.per_image, r.design.has_value());
  return text;
}

}  // namespace dnnfi
