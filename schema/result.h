// Result<T>: the return type of everything that can fail for a reason the
// user should read. Recoverable errors travel as values; only main() turns
// them into "ERROR: ..." and an exit code. Messages name the file and quote
// the offending value, e.g. "'x.lhtrace': chunk 3 at byte 4096: bad CRC32C".
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace loophound {

struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  const Error& error() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Status: a Result that carries nothing on success.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }

inline Error make_error(std::string message) { return Error{std::move(message)}; }

}  // namespace loophound
