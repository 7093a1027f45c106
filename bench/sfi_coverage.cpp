// sfi_coverage: how many faults each design of an iterative campaign draws, and how often its
// interval holds the truth at the point where it stops, measured by replaying thousands of
// campaigns in-process against a results file taken as the population's truth.
//
//   sfi_coverage [--results FILE] [--replays N] [--designs a,b,...] [--synthetic N]
//                [--fault-margin E] [--inference-margin E] [--domains]
//
// Populations:
//  - the published ResNet20 list (../shared/seed/ResNet20_FL.csv, 16,627 faults with their counts):
//    the list is the population, as `dnnfi run -f LIST --replay LIST --margin E` draws from it;
//  - with --synthetic N, a synthetic population of N faults drawn uniformly from ResNet20's whole
//    weight-fault population, each given the counts of a published fault drawn from the same layer
//    x bit cell: the cells' rates are the list's, while the size of a fault's change carries no
//    information beyond its cell (a harder case for the data-aware strata).
// For each design, estimand and population it prints the mean and 95th percentile of the faults
// drawn at the stop, the share of replays whose interval holds the population's true rate with its
// standard error, the mean bias of the estimate and the mean number of rounds. Each replay stops
// where `dnnfi run` stops (the same sampler class), with seed 1..N.
// With --domains it also prints, per design, how often each layer's and each bit's 99% interval
// (a domain of the stratified sample, as `dnnfi report` gives them) holds that group's true rate
// at the stop, for both rates (over the replays that drew the group): the mean over the groups
// and the worst group.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <unordered_set>

#include "campaign/sampler.hpp"
#include "campaign/strata.hpp"
#include "dnnfi/model_source.hpp"
#include "dnnfi/results.hpp"
#include "dnnfi/statistics.hpp"
#include "dnnfi/word_format.hpp"

using namespace dnnfi;

namespace {

struct Truth {
  std::vector<Fault> faults;
  std::unordered_map<std::int64_t, Counts> counts;  // by Injection
  double rate(Estimand estimand) const {
    double sum = 0;
    for (const auto& f : faults) {
      const auto& c = counts.at(f.injection);
      sum +=
          estimand == Estimand::kFaults ? (c.critical > 0) : static_cast<double>(c.critical) / c.injections;
    }
    return sum / static_cast<double>(faults.size());
  }
};

struct Design {
  std::string name;
  Strata strata;
  Allocation allocation = Allocation::kNeyman;
  bool layer_rounds = false;  // dnnfi's first design
};

struct Outcome {
  std::size_t drawn = 0, rounds = 0;
  bool covered = false, met = false;
  double estimate = 0;
};

double value_of(const Counts& c, Estimand estimand) {
  return estimand == Estimand::kFaults ? (c.critical > 0) : static_cast<double>(c.critical) / c.injections;
}

// Layers and bits as domains: each group's true rates, and how often its interval held them.
struct Domains {
  // [rate][group]: the truth, and (covered, replays)
  std::map<std::string, double> truth[2];
  std::map<std::string, std::pair<std::size_t, std::size_t>> held[2];
  std::unordered_map<std::int64_t, std::size_t> stratum;  // by Injection
  static std::array<std::string, 2> groups(const Fault& f) {
    return {"layer " + f.layer, "bit " + std::to_string(f.bits.lowest())};
  }
  Domains(const Truth& t, const ListStrata& strata) {
    for (std::size_t h = 0; h < strata.members.size(); ++h)
      for (const auto place : strata.members[h]) stratum.emplace(t.faults[place].injection, h);
    std::map<std::string, std::pair<double, double>> sums[2];
    for (const auto& f : t.faults)
      for (const auto& g : groups(f))
        for (int e = 0; e < 2; ++e) {
          sums[e][g].first += value_of(t.counts.at(f.injection), static_cast<Estimand>(e));
          sums[e][g].second += 1;
        }
    for (int e = 0; e < 2; ++e)
      for (const auto& [g, s] : sums[e]) truth[e][g] = s.first / s.second;
  }
  // The stop of one replay: its draws, each group's intervals against the truth.
  void check(const Truth& t, const std::vector<Fault>& drawn, const std::vector<double>& populations) {
    std::vector<std::int64_t> per_stratum(populations.size(), 0);
    for (const auto& f : drawn) ++per_stratum[stratum.at(f.injection)];
    std::map<std::string, std::map<std::size_t, DomainCell>> cells[2];
    for (const auto& f : drawn) {
      const auto h = stratum.at(f.injection);
      for (const auto& g : groups(f))
        for (int e = 0; e < 2; ++e) {
          auto& c = cells[e][g][h];
          c.population = populations[h];
          c.drawn = per_stratum[h];
          const double v = value_of(t.counts.at(f.injection), static_cast<Estimand>(e));
          ++c.in_domain;
          c.sum += v;
          c.sum_squares += v * v;
        }
    }
    for (int e = 0; e < 2; ++e)
      for (const auto& [g, by_stratum] : cells[e]) {
        std::vector<DomainCell> list;
        for (const auto& [h, c] : by_stratum) list.push_back(c);
        const auto m = domain_mean(list, static_cast<Estimand>(e), kZ99);
        const double truth_rate = truth[e].at(g);
        auto& [covered, seen] = held[e][g];
        covered += m.interval.low <= truth_rate && truth_rate <= m.interval.high;
        ++seen;
      }
  }
};

Outcome replay(const Truth& truth, const Design& design, const std::shared_ptr<const ListStrata>& strata,
               const std::vector<Layer>& layers, IterativeOptions options, std::uint64_t seed,
               double true_rate, Domains* domains = nullptr) {
  options.seed = seed;
  options.strata = design.strata;
  options.allocation = design.allocation;
  auto sampler = design.layer_rounds ? layer_rounds(truth.faults, layers, options)
                                     : stratified_rounds(list_pool(truth.faults, strata, seed), options);
  Outcome o;
  std::vector<Fault> drawn;
  for (auto round = sampler->next(); !round.empty(); round = sampler->next())
    for (const auto& f : round) {
      sampler->observe(ResultRow{f, truth.counts.at(f.injection), NonFiniteRule::kArgmax});
      ++o.drawn;
      if (domains) drawn.push_back(f);
    }
  if (domains) {
    std::vector<double> populations;
    for (const auto& m : strata->members) populations.push_back(static_cast<double>(m.size()));
    domains->check(truth, drawn, populations);
  }
  const auto status = *sampler->status();
  o.rounds = status.rounds;
  o.met = status.met;
  Interval interval;
  if (design.layer_rounds) {
    interval = status.estimate.interval;
    o.estimate = status.estimate.rate;
  } else {
    const auto& m = options.estimand == Estimand::kFaults ? *status.faults : *status.inferences;
    interval = m.interval;
    o.estimate = m.value;
  }
  o.covered = interval.low <= true_rate && true_rate <= interval.high;
  return o;
}

// A synthetic population: `size` faults uniform over the model's weight faults, each with the
// counts of a published fault of its layer x bit cell (cells the list lacks are skipped).
Truth synthetic(const Truth& published, const std::vector<Layer>& layers, std::size_t size,
                std::uint64_t seed) {
  std::map<std::pair<std::string, int>, std::vector<std::int64_t>> cell;
  for (const auto& f : published.faults) cell[{f.layer, f.bits.lowest()}].push_back(f.injection);
  PopulationSpec spec;
  spec.targets = layers;
  double elements = 0;
  for (const auto& l : layers) elements += static_cast<double>(l.numel());
  const auto total = static_cast<std::uint64_t>(elements) * 32;
  std::mt19937_64 rng(seed);
  Truth t;
  std::unordered_set<std::int64_t> taken;
  while (t.faults.size() < size) {
    const auto id = static_cast<std::int64_t>(rng() % total);
    if (!taken.insert(id).second) continue;
    auto fault = *population_fault(spec, id);
    const auto it = cell.find({fault.layer, fault.bits.lowest()});
    if (it == cell.end()) continue;
    const auto source = it->second[rng() % it->second.size()];
    t.counts.emplace(id, published.counts.at(source));
    t.faults.push_back(std::move(fault));
  }
  return t;
}

// Rows of the domains table: per rate and kind of group (layers, bits), the mean coverage over the
// groups and the worst group.
std::string domain_summary(const Domains& d, const std::string& population, const IterativeOptions& options,
                           const std::string& design) {
  std::string text;
  for (int e = 0; e < 2; ++e)
    for (const std::string kind : {"layer ", "bit "}) {
      double sum = 0, worst = 2;
      std::string worst_name;
      std::size_t groups = 0;
      for (const auto& [g, held] : d.held[e]) {
        if (g.rfind(kind, 0) != 0) continue;
        const double coverage = static_cast<double>(held.first) / static_cast<double>(held.second);
        sum += coverage;
        ++groups;
        if (coverage < worst) {
          worst = coverage;
          worst_name = g;
        }
      }
      if (groups == 0) continue;
      text += fmt::format("| {} | {} +-{:g}% | {} | {} | {} {}s | {:.2f}% | {} ({:.2f}%) |\n", population,
                          name_of(kEstimandNames, options.estimand), 100 * options.margin, design,
                          name_of(kEstimandNames, static_cast<Estimand>(e)), groups,
                          kind.substr(0, kind.size() - 1), 100 * sum / static_cast<double>(groups),
                          worst_name, 100 * worst);
    }
  return text;
}

double percentile(std::vector<std::size_t> values, double q) {
  std::sort(values.begin(), values.end());
  return static_cast<double>(values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1))]);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sfi_coverage: faults drawn and interval coverage of iterative designs, by replay"};
  std::string results = std::string(std::getenv("DNNFI_SHARED") ? std::getenv("DNNFI_SHARED") : "../shared") +
                        "/seed/ResNet20_FL.csv";
  std::size_t replays = 2000, synthetic_size = 0;
  std::string designs_text = "none,layer,bit,layer-bit,delta,stage-delta,layer-delta,layer-proportional";
  double fault_margin = 0.01, inference_margin = 0.001, confidence = 0.99;
  bool with_domains = false;
  app.add_option("--results", results, "results file taken as the truth (the published ResNet20 list)");
  app.add_option("--replays", replays, "campaigns replayed per design, estimand and population")
      ->capture_default_str();
  app.add_option("--designs", designs_text, "strata names, and layer-proportional (dnnfi's first design)")
      ->capture_default_str();
  app.add_option("--synthetic", synthetic_size, "faults of the synthetic population (0: none)")
      ->capture_default_str();
  app.add_option("--fault-margin", fault_margin, "margin of the per-fault rate")->capture_default_str();
  app.add_option("--inference-margin", inference_margin, "margin of the per-inference rate")
      ->capture_default_str();
  app.add_flag("--domains", with_domains, "also the coverage of each layer's and each bit's intervals");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  // The truth, and ResNet20's weights for the data-aware strata.
  Truth published;
  {
    ResultsReader reader(results);
    for (const auto& row : reader.read_all()) {
      published.counts.emplace(row.fault.injection, row.counts);
      published.faults.push_back(row.fault);
    }
  }
  const auto where = resolve_locations(std::nullopt, std::nullopt);
  const auto source = ModelSource::zoo("resnet20", "cifar10");
  const auto model = Model::load(source.prepare(where), torch::kCPU);
  const auto layers = model.info().layers;
  const auto values = model_fault_values(model, layers);

  std::vector<std::pair<std::string, Truth>> populations{{"published list", published}};
  if (synthetic_size > 0)
    populations.emplace_back(fmt::format("synthetic {}", synthetic_size),
                             synthetic(published, layers, synthetic_size, 38));
  std::vector<Design> designs;
  for (std::size_t start = 0; start <= designs_text.size();) {
    const auto end = std::min(designs_text.find(',', start), designs_text.size());
    const auto name = designs_text.substr(start, end - start);
    start = end + 1;
    if (name == "layer-proportional") {
      designs.push_back({name, Strata::kLayer, Allocation::kProportional, true});
    } else if (const auto strata = value_named(kStrataNames, name)) {
      designs.push_back({name, *strata});
    } else {
      fmt::print(stderr, "unknown design '{}'\n", name);
      return 2;
    }
  }

  std::vector<std::string> domain_lines;
  fmt::print("{} replays each, {:g}% confidence; seeds 1..{}\n", replays, 100 * confidence, replays);
  fmt::print(
      "| population | estimand, margin | design | strata | mean faults | p95 | coverage (se) | bias | rounds "
      "| met |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& [population, truth] : populations) {
    for (const auto estimand : {Estimand::kFaults, Estimand::kInferences}) {
      const double true_rate = truth.rate(estimand);
      for (const auto& design : designs) {
        if (design.layer_rounds && estimand == Estimand::kInferences) continue;  // per-fault rate only
        IterativeOptions options;
        options.estimand = estimand;
        options.margin = estimand == Estimand::kFaults ? fault_margin : inference_margin;
        options.confidence = confidence;
        const auto strata = list_strata(truth.faults, design.strata, values.get());
        std::optional<Domains> domains;
        if (with_domains && !design.layer_rounds) domains.emplace(truth, *strata);
        std::vector<std::size_t> drawn;
        std::size_t covered = 0, met = 0, rounds = 0;
        double bias = 0;
        for (std::size_t r = 1; r <= replays; ++r) {
          const auto o =
              replay(truth, design, strata, layers, options, r, true_rate, domains ? &*domains : nullptr);
          drawn.push_back(o.drawn);
          covered += o.covered;
          met += o.met;
          rounds += o.rounds;
          bias += o.estimate - true_rate;
        }
        const double n = static_cast<double>(replays);
        const double coverage = static_cast<double>(covered) / n;
        double mean = 0;
        for (auto d : drawn) mean += static_cast<double>(d);
        fmt::print(
            "| {} | {} +-{:g}% (truth {:.4f}%) | {} | {} | {:.0f} | {:.0f} | {:.2f}% ({:.2f}%) | {:+.4f}% | "
            "{:.1f} | {:.1f}% |\n",
            population, name_of(kEstimandNames, estimand), 100 * options.margin, 100 * true_rate, design.name,
            strata->keys.size(), mean / n, percentile(drawn, 0.95), 100 * coverage,
            100 * std::sqrt(coverage * (1 - coverage) / n), 100 * bias / n, static_cast<double>(rounds) / n,
            100.0 * static_cast<double>(met) / n);
        if (domains) domain_lines.push_back(domain_summary(*domains, population, options, design.name));
        std::fflush(stdout);
      }
    }
  }
  if (!domain_lines.empty()) {
    fmt::print(
        "\nLayers and bits as domains: the share of replays whose 99% interval of a group holds its true "
        "rate, at the stop\n");
    fmt::print(
        "| population | stopped on | design | rate | groups | mean coverage | worst group (coverage) |\n");
    fmt::print("|---|---|---|---|---|---|---|\n");
    for (const auto& line : domain_lines) fmt::print("{}", line);
  }
  return 0;
}
