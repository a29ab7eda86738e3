#include "log/log.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace sy::log {

namespace {

std::atomic<level> threshold_{level::info};
std::atomic<format> format_{format::text};

const char* name_of(level l) {
  switch (l) {
    case level::trace: return "trace";
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
    case level::off: return "off";
  }
  return "info";
}

// Returns the length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t n = b < 0x80           ? 1
                  : (b >> 5) == 0x6  ? 2
                  : (b >> 4) == 0xe  ? 3
                  : (b >> 3) == 0x1e ? 4
                                     : 0;
  if (n == 0 || i + n > s.size())
    return 0;
  uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1f) : n == 3 ? (b & 0x0f) : (b & 0x07);
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c >> 6) != 0x2)
      return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  // Overlong forms, surrogates and values beyond U+10FFFF are invalid.
  static constexpr uint32_t min_of[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_of[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

// Appends `s` escaped as inside a JSON string: the same escaping serves the
// text format, where a newline in a value must not start a forged line.
void append_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      auto n = utf8_length(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
}

bool needs_quotes(std::string_view v) {
  if (v.empty())
    return true;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || u >= 0x80 || c == '"' || c == '=' || c == '\\')
      return true;
  }
  return false;
}

// Writes each line with one write(2) to a file descriptor: standard error,
// or log.file opened for appending (so that a line is never split between
// two files, and a file logrotate moved away keeps no buffered tail).
// spdlog's mutex (base_sink) serialises lines and the swap of the file.
class fd_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  ~fd_sink() override {
    if (fd_ != STDERR_FILENO)
      ::close(fd_);
  }

  // Opens `path` (or the path of before when empty) and writes there from
  // now on; on failure nothing changes.
  std::optional<std::string> open(const std::string& path) {
    std::lock_guard<std::mutex> guard(mutex_);
    const std::string& target = path.empty() ? path_ : path;
    if (target.empty())
      return std::nullopt;
    const int fd = ::open(target.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      return "cannot open " + target + ": " + std::strerror(errno);
    if (fd_ != STDERR_FILENO)
      ::close(fd_);
    fd_ = fd;
    path_ = target;
    return std::nullopt;
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    const char* p = buf.data();
    std::size_t left = buf.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return; // nowhere else to say it
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  void flush_() override {}

private:
  int fd_ = STDERR_FILENO;
  std::string path_;
};

// The one sink, shared by the logger and open_file.
const std::shared_ptr<fd_sink>& sink() {
  static const auto instance = std::make_shared<fd_sink>();
  return instance;
}

std::shared_ptr<spdlog::logger> make_logger() {
  // Uncoloured: a JSON line must hold nothing but JSON.
  auto logger = std::make_shared<spdlog::logger>("switchyard", sink());
  logger->set_level(spdlog::level::trace); // the threshold is ours (threshold_)
  logger->flush_on(spdlog::level::trace);  // a line is on disk before anything else happens
  return logger;
}

spdlog::logger& logger() {
  static auto instance = [] {
    auto l = make_logger();
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %v", spdlog::pattern_time_type::utc);
    return l;
  }();
  return *instance;
}

std::mutex configure_mutex_;

} // namespace

level parse_level(std::string_view name) {
  for (auto l : {level::trace, level::debug, level::info, level::warn, level::error, level::off})
    if (name == name_of(l))
      return l;
  return level::info;
}

void configure(format f, level threshold) {
  std::lock_guard<std::mutex> guard(configure_mutex_);
  format_ = f;
  threshold_ = threshold;
  logger().set_pattern(f == format::json ? "{\"ts\":\"%Y-%m-%dT%H:%M:%S.%eZ\",%v"
                                         : "%Y-%m-%dT%H:%M:%S.%eZ %v",
                       spdlog::pattern_time_type::utc);
}

std::optional<std::string> open_file(const std::string& path) {
  logger(); // the sink's formatter is the logger's pattern
  if (path.empty())
    return "log.file is empty";
  return sink()->open(path);
}

std::optional<std::string> reopen_file() { return sink()->open({}); }

void set_level(level threshold) { threshold_ = threshold; }

bool enabled(level l) {
  auto t = threshold_.load(std::memory_order_relaxed);
  return l != level::off && t != level::off && l >= t;
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  append_escaped(out, s);
  out += '"';
  return out;
}

void write(level l, std::string_view event, std::string_view message,
           std::initializer_list<field> fields) {
  if (!enabled(l))
    return;
  std::string line;
  line.reserve(128);
  if (format_.load(std::memory_order_relaxed) == format::json) {
    line += "\"level\":\"";
    line += name_of(l);
    line += "\",\"event\":";
    line += json_quote(event);
    line += ",\"msg\":";
    line += json_quote(message);
    for (const auto& f : fields) {
      line += ',';
      line += json_quote(f.key);
      line += ':';
      line += json_quote(f.value);
    }
    line += '}';
  } else {
    line += name_of(l);
    line += ' ';
    append_escaped(line, event);
    line += ": ";
    append_escaped(line, message);
    for (const auto& f : fields) {
      line += ' ';
      append_escaped(line, f.key);
      line += '=';
      if (needs_quotes(f.value)) {
        line += '"';
        append_escaped(line, f.value);
        line += '"';
      } else {
        line += f.value;
      }
    }
  }
  auto spd = l == level::error   ? spdlog::level::err
             : l == level::warn  ? spdlog::level::warn
             : l == level::info  ? spdlog::level::info
             : l == level::debug ? spdlog::level::debug
                                 : spdlog::level::trace;
  logger().log(spd, spdlog::string_view_t(line.data(), line.size()));
}

} // namespace sy::log
