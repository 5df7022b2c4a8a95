// address_space: runtime address -> ELF vaddr, on hand-made layouts and on
// a real process (the kernel's AT_ENTRY must map back to e_entry).
#include "analyzer/symbolize/address_space.h"

#include <gtest/gtest.h>
#include <spawn.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "tests/support/go_samples.h"

extern char** environ;

namespace loophound::analyzer {
namespace {

constexpr uint64_t kBias = 0x555555554000;

// A PIE whose second segment sits at a different vaddr - offset delta than
// the first (as GNU ld lays out RW data), mapped page-rounded by the kernel.
ElfLoadLayout pie_layout() {
  return ElfLoadLayout{
      .position_independent = true,
      .segments = {{.vaddr = 0x1000, .mem_size = 0x3000, .file_offset = 0x1000, .file_size = 0x3000},
                   {.vaddr = 0x5e10, .mem_size = 0x300, .file_offset = 0x4e10, .file_size = 0x220}}};
}

std::vector<ProcessMapping> pie_mappings() {
  return {{.start = kBias + 0x1000, .end = kBias + 0x4000, .file_offset = 0x1000, .path = "/bin/x"},
          {.start = kBias + 0x5000, .end = kBias + 0x6000, .file_offset = 0x4000, .path = "/bin/x"}};
}

TEST(AddressSpace, ExecutableIsIdentity) {
  ElfLoadLayout layout{.position_independent = false,
                       .segments = {{.vaddr = 0x400000, .mem_size = 0xab000, .file_offset = 0,
                                     .file_size = 0xab000}}};
  std::vector<ProcessMapping> mappings = {{.start = 0x400000, .end = 0x4ab000, .file_offset = 0, .path = "/bin/x"}};
  EXPECT_EQ(to_file_vaddr(0x4aac40, mappings, layout), 0x4aac40u);
  EXPECT_EQ(to_file_vaddr(0x400000, mappings, layout), 0x400000u);
  EXPECT_EQ(to_file_vaddr(0x4ab000, mappings, layout), std::nullopt);
}

TEST(AddressSpace, ExecutableAddressOutsideEverySegment) {
  ElfLoadLayout layout{.position_independent = false,
                       .segments = {{.vaddr = 0x400000, .mem_size = 0x1000, .file_offset = 0,
                                     .file_size = 0x1000}}};
  std::vector<ProcessMapping> mappings = {{.start = 0x400000, .end = 0x402000, .file_offset = 0, .path = "/bin/x"}};
  EXPECT_EQ(to_file_vaddr(0x401800, mappings, layout), std::nullopt);
}

TEST(AddressSpace, PieTranslatesThroughFileOffset) {
  ElfLoadLayout layout = pie_layout();
  std::vector<ProcessMapping> mappings = pie_mappings();
  EXPECT_EQ(to_file_vaddr(kBias + 0x1234, mappings, layout), 0x1234u);
  EXPECT_EQ(to_file_vaddr(kBias + 0x3fff, mappings, layout), 0x3fffu);
  // Second mapping: file offset 0x4e20 lies in the second segment, whose
  // vaddr is 0x1000 above its offset.
  EXPECT_EQ(to_file_vaddr(kBias + 0x5e20, mappings, layout), 0x5e20u);
  EXPECT_EQ(to_file_vaddr(kBias + 0x602f, mappings, layout), std::nullopt)
      << "past the segment's file bytes (that part is .bss, not the file)";
  // In the mapping's page, but before the segment's first file byte.
  EXPECT_EQ(to_file_vaddr(kBias + 0x5100, mappings, layout), std::nullopt);
}

TEST(AddressSpace, AddressOutsideEveryMapping) {
  std::vector<ProcessMapping> mappings = pie_mappings();
  EXPECT_EQ(to_file_vaddr(kBias + 0x4800, mappings, pie_layout()), std::nullopt);
  EXPECT_EQ(to_file_vaddr(0x1234, mappings, pie_layout()), std::nullopt);
  EXPECT_EQ(to_file_vaddr(0x1234, {}, pie_layout()), std::nullopt);
  ElfLoadLayout exec = pie_layout();
  exec.position_independent = false;
  EXPECT_EQ(to_file_vaddr(0x1234, {}, exec), std::nullopt) << "identity still needs a mapping";
}

TEST(AddressSpace, HostileMappingDoesNotOverflow) {
  std::vector<ProcessMapping> mappings = {
      {.start = 0x1000, .end = 0x2000, .file_offset = UINT64_MAX - 0x10, .path = "/bin/x"}};
  ElfLoadLayout layout{.position_independent = true,
                       .segments = {{.vaddr = UINT64_MAX - 0x10, .mem_size = 0x20,
                                     .file_offset = 0, .file_size = UINT64_MAX}}};
  EXPECT_EQ(to_file_vaddr(0x1800, mappings, layout), std::nullopt);
  mappings[0].file_offset = 0;
  EXPECT_EQ(to_file_vaddr(0x1800, mappings, layout), std::nullopt) << "vaddr would wrap";
}

TEST(AddressSpace, ReadLoadLayoutErrorsNameTheFile) {
  Result<ElfLoadLayout> missing = read_load_layout("/nonexistent/loophound");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "'/nonexistent/loophound': No such file or directory");
  Result<ElfLoadLayout> text = read_load_layout(LOOPHOUND_SOURCE_DIR "/samples/go.mod");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, "'" LOOPHOUND_SOURCE_DIR "/samples/go.mod': not an ELF file");
}

// ---- A real process ---------------------------------------------------------

uint64_t parse_hex(const std::string& s) { return std::stoull(s, nullptr, 16); }

std::vector<ProcessMapping> read_maps(pid_t pid, const std::string& path) {
  std::vector<ProcessMapping> result;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  for (std::string line; std::getline(maps, line);) {
    // start-end perms offset dev inode path
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, file;
    fields >> range >> perms >> offset >> dev >> inode >> file;
    if (file != path) continue;
    size_t dash = range.find('-');
    result.push_back({parse_hex(range.substr(0, dash)), parse_hex(range.substr(dash + 1)),
                      parse_hex(offset), file});
  }
  return result;
}

std::optional<uint64_t> read_at_entry(pid_t pid) {
  std::ifstream auxv("/proc/" + std::to_string(pid) + "/auxv", std::ios::binary);
  for (uint64_t pair[2]; auxv.read(reinterpret_cast<char*>(pair), sizeof pair);) {
    if (pair[0] == AT_ENTRY) return pair[1];
  }
  return std::nullopt;
}

// Runs the binary until its image is mapped, and returns what the kernel
// says about it: AT_ENTRY (the runtime entry point) and the mappings.
void check_entry_maps_back(const std::string& binary, bool pie) {
  Result<ElfLoadLayout> layout = read_load_layout(binary);
  ASSERT_TRUE(layout.ok()) << layout.error().message;
  EXPECT_EQ(layout->position_independent, pie);
  ASSERT_GE(layout->segments.size(), 2u);

  // The sample prints "NAME: pid N" from main, when the kernel and the
  // loader are long done with the image.
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  std::string arg = "-exit-after=30s";
  char* argv[] = {const_cast<char*>(binary.c_str()), arg.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ASSERT_EQ(spawned, 0);
  std::string first_line;
  for (char c; first_line.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1;) {
    first_line += c;
  }
  std::vector<ProcessMapping> mappings = read_maps(pid, binary);
  std::optional<uint64_t> entry = read_at_entry(pid);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::close(out[0]);

  ASSERT_NE(first_line.find("pid " + std::to_string(pid)), std::string::npos) << first_line;
  ASSERT_FALSE(mappings.empty());
  ASSERT_TRUE(entry.has_value());
  std::optional<uint64_t> elf_entry = loophound::testing::elf_entry(binary);
  ASSERT_TRUE(elf_entry.has_value());
  if (pie) {
    EXPECT_NE(*entry, *elf_entry) << "the kernel should have moved the PIE";
  }
  EXPECT_EQ(to_file_vaddr(*entry, mappings, *layout), elf_entry);
}

TEST(AddressSpace, RealExecutableEntryMapsBack) {
  LOOPHOUND_REQUIRE_GO();
  Result<std::string> binary = loophound::testing::build_sample("spin_compute");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  check_entry_maps_back(*binary, false);
}

TEST(AddressSpace, RealPieEntryMapsBack) {
  LOOPHOUND_REQUIRE_GO();
  Result<std::string> binary = loophound::testing::build_sample("spin_compute", "-buildmode=pie");
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  check_entry_maps_back(*binary, true);
}

}  // namespace
}  // namespace loophound::analyzer
