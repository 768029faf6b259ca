// The one error convention of emailroute: a Status says whether an operation
// worked and, if not, what kind of failure and why; Result<T> carries either a
// value or the Status that explains its absence. runtime/ never throws.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace emailroute {

class Status {
 public:
  enum class Code { kOk, kInvalid, kCorruption, kIoError, kNotFound };

  Status() = default;
  static Status ok_status() { return Status(); }
  static Status invalid(std::string msg) { return Status(Code::kInvalid, std::move(msg)); }
  static Status corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status io_error(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status not_found(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

/// Either a T or the Status saying why there is none.
/// REQUIRES: value() only when ok(); status() is ok_status() when ok().
template <class T>
class Result {
 public:
  Result(T value) : data_(std::move(value)) {}           // NOLINT: implicit on purpose
  Result(Status status) : data_(std::move(status)) {}    // NOLINT: implicit on purpose

  bool ok() const { return std::holds_alternative<T>(data_); }
  T& value() { return std::get<T>(data_); }
  const T& value() const { return std::get<T>(data_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Status status() const { return ok() ? Status() : std::get<Status>(data_); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace emailroute
