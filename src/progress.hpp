#pragma once
// One-line progress display on stderr: faults done, rate, ETA.
#include <chrono>
#include <cstdint>
#include <cstdio>

namespace dnnfi {

class ProgressBar {
 public:
  ProgressBar(std::size_t total, std::size_t already_done, bool enabled)
      : total_(total), base_(already_done), enabled_(enabled), start_(Clock::now()) {}

  void update(std::size_t done, std::int64_t critical, std::int64_t injections) {
    if (!enabled_) return;
    const auto now = Clock::now();
    if (done < total_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done - base_) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
    const int width = 24;
    const int filled = total_ ? static_cast<int>(width * done / total_) : width;
    char bar[width + 1];
    for (int i = 0; i < width; ++i) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    const auto eta_s = static_cast<long>(eta);
    std::fprintf(stderr, "\r[%s] %zu/%zu faults  %.2f faults/s  ETA %ld:%02ld:%02ld  critical %.2f%%  ", bar, done,
                 total_, rate, eta_s / 3600, eta_s / 60 % 60, eta_s % 60,
                 injections ? 100.0 * static_cast<double>(critical) / static_cast<double>(injections) : 0.0);
    std::fflush(stderr);
  }

  void finish() {
    if (enabled_) std::fputc('\n', stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::size_t total_, base_;
  bool enabled_;
  Clock::time_point start_, last_{};
};

}  // namespace dnnfi
