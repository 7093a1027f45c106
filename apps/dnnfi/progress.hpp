#pragma once
// The campaign's progress: a bar on stderr for people, JSON lines for programs.
#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>

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

// `run --progress json`: one JSON object per line for programs that drive dnnfi (the Python
// package draws its bar from them), on stderr or the descriptor of --progress-fd:
//   {"event":"start"|"progress"|"end","done":D,"total":T,"resumed":R,"rate":F,"elapsed":S,
//    "eta":S,"injections":N,"critical":C}
// done and total count faults (resumed rows included), rate is faults/s run by this process,
// injections and critical are images over the rows done (0 in the start line). A "progress"
// line comes at most every 200 ms and always for the last fault; an iterative campaign starts
// again with a larger total each round. A line is far below PIPE_BUF and goes out in one
// write(2), so a reader of a pipe never sees half of one.
class ProgressJson final : public CampaignObserver {
 public:
  explicit ProgressJson(int fd) : fd_(fd) {}

  void started(std::size_t faults, std::size_t resumed) override {
    total_ = faults;
    base_ = done_ = resumed;
    totals_ = Counts{};
    start_ = Clock::now();
    emit("start", start_);
  }

  void advanced(std::size_t done, const Counts& totals) override {
    done_ = done;
    totals_ = totals;
    const auto now = Clock::now();
    if (done < total_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    emit("progress", now);
  }

  void finished() override { emit("end", Clock::now()); }

 private:
  using Clock = std::chrono::steady_clock;

  void emit(const char* event, Clock::time_point now) const {
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done_ - base_) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0;
    const auto line = fmt::format(
        "{{\"event\":\"{}\",\"done\":{},\"total\":{},\"resumed\":{},\"rate\":{:.6g},\"elapsed\":{:.3f},"
        "\"eta\":{:.3f},\"injections\":{},\"critical\":{}}}\n",
        event, done_, total_, base_, rate, elapsed, eta, totals_.injections, totals_.critical);
    // The stream is advisory (the results file is what counts): a failed write is dropped, and a
    // reader that closed its end stops the lines (said once), never the campaign: SIGPIPE is held
    // back around the write and a pending one taken away, so it cannot end the process.
    if (closed_) return;
    sigset_t pipe_signal, previous;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
    for (std::size_t written = 0; written < line.size();) {
      const auto n = ::write(fd_, line.data() + written, line.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EPIPE) {
        const timespec no_wait{};
        sigtimedwait(&pipe_signal, nullptr, &no_wait);
        closed_ = true;
        spdlog::warn(
            "--progress-fd {}: the reader closed its end; the campaign goes on without progress lines", fd_);
      }
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }

  int fd_;
  mutable bool closed_ = false;
  std::size_t total_ = 0, base_ = 0, done_ = 0;
  Counts totals_;
  Clock::time_point start_{}, last_{};
};

}  // namespace dnnfi::cli
