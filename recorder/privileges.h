// Checks, before anything is attempted, that this process may load BPF
// programs and open system-wide perf events, so the user gets one clear
// line instead of a libbpf error from deep inside the load.
#pragma once

#include "schema/result.h"

namespace loophound::recorder {

// Needs CAP_BPF and CAP_PERFMON (kernel >= 5.8), or CAP_SYS_ADMIN. Error
// names the capabilities that are missing.
Status check_privileges();

}  // namespace loophound::recorder
