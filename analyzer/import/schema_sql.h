// The text of schema/schema.sql, embedded at build time (see
// analyzer/CMakeLists.txt) so the analyzer needs no file at run time.
#pragma once
namespace loophound::analyzer {
extern const char* const kSchemaSql;
}
