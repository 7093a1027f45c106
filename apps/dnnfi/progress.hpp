#pragma once
// The campaign's progress as one line on stderr: faults done, rate, ETA, critical share.
#include <chrono>
#include <cstdint>
#include <cstdio>

#include "dnnfi/campaign.hpp"

namespace dnnfi::cli {

class ProgressBar final : public CampaignObserver {
 public:
  void started(std::size_t faults, std::size_t resumed) override {
    total_ = faults;
    base_ = resumed;
    start_ = Clock::now();
  }

  void advanced(std::size_t done, const Counts& totals) override {
    const auto now = Clock::now();
    if (done < total_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done - base_) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
    constexpr int kWidth = 24;
    const int filled = total_ ? static_cast<int>(kWidth * done / total_) : kWidth;
    char bar[kWidth + 1];
    for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
    bar[kWidth] = '\0';
    const auto eta_s = static_cast<long>(eta);
    const double critical = totals.injections ? 100.0 * static_cast<double>(totals.critical) /
                                                    static_cast<double>(totals.injections)
                                              : 0.0;
    std::fprintf(stderr, "\r[%s] %zu/%zu faults  %.2f faults/s  ETA %ld:%02ld:%02ld  critical %.2f%%  ", bar,
                 done, total_, rate, eta_s / 3600, eta_s / 60 % 60, eta_s % 60, critical);
    std::fflush(stderr);
    drawn_ = true;
  }

  void finished() override {
    if (drawn_) std::fputc('\n', stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::size_t total_ = 0, base_ = 0;
  bool drawn_ = false;
  Clock::time_point start_{}, last_{};
};

}  // namespace dnnfi::cli
