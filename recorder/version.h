#pragma once
namespace loophound::recorder {
inline constexpr const char* kRecorderVersion = "0.1.0";
}
