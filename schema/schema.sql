-- loophound's SQLite schema: what `loophound analyze --db OUT.db` writes and
-- what `loophound query` runs SQL over. One row per fact of the trace;
-- symbolized frames and findings are added by the analyzer. Every timestamp
-- is CLOCK_MONOTONIC nanoseconds as recorded (metadata start_wall_time_ns
-- and start_monotonic_ns convert them to wall time). Names without a leading
-- underscore are public and stable; views answer common questions.

-- Header of the trace: every metadata key the recorder wrote
-- (documented in schema/TRACE_FORMAT.md), verbatim.
CREATE TABLE metadata (
  key TEXT PRIMARY KEY,  -- e.g. 'go_version', 'sample_frequency_hz'
  value TEXT NOT NULL    -- the value as text
);

-- The traced process (one row per traced PID).
CREATE TABLE process (
  pid INTEGER PRIMARY KEY,  -- PID on the recording host
  command TEXT,             -- /proc/PID/comm at start
  executable TEXT,          -- path of the executable on the recording host
  go_version TEXT,          -- from .go.buildinfo, e.g. 'go1.26.8'
  build_id_go TEXT,         -- Go build id (.note.go.buildid)
  build_id_gnu TEXT         -- GNU build id in hex, '' when absent
);

-- /proc/PID/maps of the target at the start of the recording.
CREATE TABLE mapping (
  id INTEGER PRIMARY KEY,  -- order in /proc/PID/maps
  pid INTEGER NOT NULL,    -- process.pid
  start INTEGER NOT NULL,  -- first address of the mapping
  end INTEGER NOT NULL,    -- first address after it
  file_offset INTEGER NOT NULL,  -- file offset mapped at start
  permissions TEXT NOT NULL,     -- 'r-xp' etc.
  path TEXT NOT NULL             -- file, '[vdso]', '[heap]', or '' (anonymous)
);

-- OS threads of the target that appear in the trace.
CREATE TABLE thread (
  tid INTEGER PRIMARY KEY,  -- kernel thread id
  pid INTEGER NOT NULL,     -- process.pid
  first_ns INTEGER,         -- first event on this thread
  last_ns INTEGER,          -- last event on this thread
  samples INTEGER NOT NULL  -- CPU samples taken on this thread
);

-- Goroutines that appear in the trace (goid 0 stands for "no goroutine":
-- the thread was in the scheduler on g0 with no user goroutine).
CREATE TABLE goroutine (
  goid INTEGER PRIMARY KEY,        -- runtime goroutine id (g.goid)
  first_ns INTEGER,                -- first sample or event naming it
  last_ns INTEGER,                 -- last sample or event naming it
  samples INTEGER NOT NULL,        -- CPU samples charged to it
  switches INTEGER NOT NULL,       -- times runtime.execute started it (0 unless recorded with --events execute)
  parent_goid INTEGER,             -- goroutine whose `go` statement created it (g.parentGoid, Go >= 1.21; or newproc1); NULL unknown
  start_pc INTEGER,                -- g.startpc: entry of the function `go` started; NULL unknown
  start_function TEXT,             -- that function; for `go f(x)` (a compiler-made gowrap closure) the f it calls; else from the stack bottom
  creation_pc INTEGER,             -- g.gopc: return address of the `go` statement's call; NULL unknown
  creation_function TEXT,          -- function holding the `go` statement
  creation_file TEXT,              -- its file
  creation_line INTEGER,           -- its line
  created_ns INTEGER,              -- when it was created during the recording (states or goroutines events); NULL before the recording
  exited_ns INTEGER                -- when it exited during the recording; NULL if it did not
);

-- State intervals of goroutines, from runtime.casgstatus (--events
-- states): one row per stretch a goroutine spent in one state.
CREATE TABLE goroutine_state (
  goid INTEGER NOT NULL,     -- goroutine.goid
  state TEXT NOT NULL,       -- 'runnable', 'running', 'syscall', 'waiting', 'dead', 'copystack', 'preempted', 'idle' or 'status N'
  status INTEGER NOT NULL,   -- Go's status number (_Grunnable = 1, ...), _Gscan bit cleared
  start_ns INTEGER NOT NULL, -- when it entered the state
  end_ns INTEGER,            -- when it left; NULL: still in it when the recording ended
  next_state TEXT,           -- the state it left for at end_ns; NULL with end_ns
  tid INTEGER NOT NULL,      -- thread that made the transition into the state
  wait_reason TEXT           -- for 'waiting': why, as the runtime names it ('chan receive', 'sleep', ...)
);
CREATE INDEX goroutine_state_by_goid ON goroutine_state (goid, start_ns);

-- `go` statements seen by the uprobe on runtime.newproc1 (--events goroutines).
CREATE TABLE goroutine_create (
  ts INTEGER NOT NULL,          -- CLOCK_MONOTONIC ns
  tid INTEGER NOT NULL,         -- thread that ran the `go` statement
  goid INTEGER,                 -- the new goroutine, when a later state event names it; NULL unknown
  parent_goid INTEGER NOT NULL, -- goroutine that ran the `go` statement
  start_pc INTEGER NOT NULL,    -- function started
  creation_pc INTEGER NOT NULL  -- return address of the `go` statement's call
);

-- OS thread intervals from sched_switch (--events sched): when each target
-- thread was on a CPU and, when off, in which state it left.
CREATE TABLE thread_state (
  tid INTEGER NOT NULL,      -- thread.tid
  state TEXT NOT NULL,       -- 'running'; or how it left the CPU: 'preempted' (still runnable), 'sleeping', 'blocked' (uninterruptible), 'other'
  start_ns INTEGER NOT NULL, -- start of the interval
  end_ns INTEGER,            -- end; NULL: the recording ended first
  cpu INTEGER NOT NULL       -- CPU it ran on, or the CPU it left
);
CREATE INDEX thread_state_by_tid ON thread_state (tid, start_ns);

-- Interned user stacks: each distinct stack once.
CREATE TABLE stack (
  id INTEGER PRIMARY KEY,  -- stack id as in the trace
  depth INTEGER NOT NULL   -- number of frames
);

-- Frames of each stack, leaf first.
CREATE TABLE stack_frame (
  stack_id INTEGER NOT NULL,  -- stack.id
  position INTEGER NOT NULL,  -- 0 = leaf (the sampled PC), 1 = its caller, ...
  address INTEGER NOT NULL,   -- address as recorded: the PC, then return addresses
  pc INTEGER NOT NULL,        -- address to symbolize: address for the leaf, address - 1 for callers (inside the call instruction)
  PRIMARY KEY (stack_id, position)
) WITHOUT ROWID;

-- Symbolized code locations: one row per (pc, inline level). A pc inside
-- inlined code has several rows: depth 0 is the innermost (inlined)
-- function, the highest depth the function the machine code belongs to.
-- Besides every sampled pc, it holds the line-table rows between the lowest
-- and highest sampled leaf pc of each function (sampled = 0): samples
-- rarely land on some instructions (a loop header's fused compare and
-- branch), and the detectors need those lines too.
CREATE TABLE frame (
  pc INTEGER NOT NULL,           -- stack_frame.pc
  inline_depth INTEGER NOT NULL, -- 0 = innermost
  function TEXT NOT NULL,        -- Go function name, e.g. 'main.(*Server).serve'; '??' when unknown
  file TEXT NOT NULL,            -- source file; '' when unknown
  line INTEGER NOT NULL,         -- source line; 0 when unknown
  inlined INTEGER NOT NULL,      -- 1 when this level was inlined into the next
  module TEXT NOT NULL,          -- file the pc belongs to (executable, library, '[vdso]')
  sampled INTEGER NOT NULL,      -- 1: a stack_frame.pc; 0: another address (line-table row in a hot span, goroutine start or creation pc)
  PRIMARY KEY (pc, inline_depth)
) WITHOUT ROWID;

-- Natural loops of the functions that samples fell in, found in the
-- machine code (LLVM MC disassembler -> control flow graph -> dominators
-- -> back edges). Only loops that hold at least one sampled pc.
CREATE TABLE loop (
  id INTEGER PRIMARY KEY,
  function TEXT NOT NULL,       -- function the loop's source belongs to (innermost inline level at the header)
  file TEXT NOT NULL,           -- its source file
  header_line INTEGER NOT NULL, -- line of the loop header (usually the `for` condition; Go puts it at the loop's bottom)
  first_line INTEGER NOT NULL,  -- lowest line of the loop body in that function and file
  last_line INTEGER NOT NULL,   -- highest such line
  header_pc INTEGER NOT NULL,   -- runtime address of the header block
  machine_function TEXT NOT NULL, -- function whose machine code holds it (differs when the loop was inlined)
  depth INTEGER NOT NULL,       -- 1 = outermost loop of its function
  parent_id INTEGER,            -- enclosing loop.id; NULL for an outermost loop
  has_call INTEGER NOT NULL,    -- 1: the body calls something
  has_store INTEGER NOT NULL,   -- 1: the body writes memory
  has_exit INTEGER NOT NULL,    -- 1: an edge leaves the loop (0: no way out at all)
  callees TEXT NOT NULL         -- functions the body calls directly, comma-separated (',' before and after each)
);

-- The innermost loop holding each sampled pc (stack_frame.pc, and
-- sample.sched_pc - 1 of samples taken on g0 for a goroutine).
CREATE TABLE loop_pc (
  pc INTEGER PRIMARY KEY,   -- stack_frame.pc
  loop_id INTEGER NOT NULL  -- loop.id
);

-- Which loop each frame of each sample is in: a sample is in a loop at
-- the frame whose pc lies in it (in the loop's own function, its callers'
-- loops are found at their frames). A sample taken on g0 for a goroutine
-- (the scheduler working for it) also has a row at position = its stack
-- depth: the loop the goroutine left its own code from (g.sched.pc).
CREATE TABLE loop_sample (
  sample_id INTEGER NOT NULL, -- sample.id
  position INTEGER NOT NULL,  -- stack_frame.position of the frame
  loop_id INTEGER NOT NULL,   -- innermost loop at that frame
  address INTEGER NOT NULL DEFAULT 0  -- the frame's stack address (stack_frame.address), or the sample's sp_word for a frameless leaf's caller, or sched_pc for a g0 sample
);
CREATE INDEX loop_sample_by_loop ON loop_sample (loop_id);

-- The tests by which each loop can end: a conditional branch out of the
-- loop after a compare, as "the loop leaves when lhs RELATION rhs", with
-- each side traced back to where its value lives across the loop (a
-- register, a stack slot of the loop's frame, or a constant). Tests to
-- panic paths (bounds checks) and tests of equality are left out: the
-- detectors use these to see a loop's index advance toward its bound.
CREATE TABLE loop_exit (
  loop_id INTEGER NOT NULL,    -- loop.id
  branch_pc INTEGER NOT NULL,  -- runtime address of the conditional branch
  relation TEXT NOT NULL,      -- '<', '<=', '>' or '>=': the loop leaves when lhs relation rhs
  signed INTEGER NOT NULL,     -- 1: signed comparison; 0: unsigned
  width INTEGER NOT NULL,      -- bytes compared (1, 2, 4 or 8)
  lhs_kind TEXT NOT NULL,      -- 'register', 'stack' or 'constant'
  lhs_value INTEGER NOT NULL,  -- register number (rax rbx rcx rdx rsi rdi rbp rsp r8-r15: 0-15), stack offset from the frame's sp, or the constant
  lhs_add INTEGER NOT NULL,    -- added to the value read (a compare of i+1 whose i is in a slot)
  rhs_kind TEXT NOT NULL,      -- as lhs_kind
  rhs_value INTEGER NOT NULL,  -- as lhs_value
  rhs_add INTEGER NOT NULL     -- as lhs_add
);
CREATE INDEX loop_exit_by_loop ON loop_exit (loop_id);

-- CPU samples (perf_event cpu-clock), one per tick that found a target thread on a CPU.
CREATE TABLE sample (
  id INTEGER PRIMARY KEY,  -- order in the trace
  ts INTEGER NOT NULL,     -- CLOCK_MONOTONIC ns
  cpu INTEGER NOT NULL,    -- CPU the sample was taken on
  tid INTEGER NOT NULL,    -- thread.tid
  goid INTEGER NOT NULL,   -- goroutine.goid; 0 = none
  stack_id INTEGER NOT NULL,  -- stack.id (the user stack)
  on_system_stack INTEGER NOT NULL,  -- 1: the thread was on g0/gsignal running for goid
  stack_error INTEGER NOT NULL,      -- 1: the user stack could not be read
  sched_pc INTEGER NOT NULL,         -- g.sched.pc of the goroutine: where it was last switched out (0 unknown)
  schedtick INTEGER NOT NULL,        -- schedtick of the thread's P: +1 per scheduling on that P (0 unknown)
  registers BLOB,                    -- --regs: user registers, 8 bytes little-endian each: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip rflags; NULL without --regs
  sp_word INTEGER NOT NULL DEFAULT 0 -- the word at the user stack pointer: the return address a frameless leaf's unwind skips; 0 unknown
);
CREATE INDEX sample_by_goid ON sample (goid, ts);

-- --regs: the first bytes of the innermost stack frames at each sample
-- (Go keeps a loop's variables in stack slots across calls). A loop's
-- stack slot `sp + d` of the frame at position p of the sample's stack is
-- byte d of the row whose pc is that frame's stack_frame.address (the row
-- with pc = 0 for the leaf, position 0).
CREATE TABLE frame_memory (
  sample_id INTEGER NOT NULL,  -- sample.id
  pc INTEGER NOT NULL,         -- return address into the frame; 0 = the leaf's frame (sp = the user stack pointer)
  sp INTEGER NOT NULL,         -- the frame's stack pointer: the address of bytes' first byte
  bytes BLOB NOT NULL          -- memory from sp up, as read at the sample
);
CREATE INDEX frame_memory_by_sample ON frame_memory (sample_id);
CREATE INDEX sample_by_tid ON sample (tid, ts);

-- Goroutine switches seen by the uprobe on runtime.execute.
CREATE TABLE switch_event (
  id INTEGER PRIMARY KEY,  -- order in the trace
  ts INTEGER NOT NULL,     -- CLOCK_MONOTONIC ns
  cpu INTEGER NOT NULL,    -- CPU
  tid INTEGER NOT NULL,    -- thread that starts running the goroutine
  goid INTEGER NOT NULL,   -- goroutine that starts running
  kind TEXT NOT NULL       -- 'execute'
);

-- Executables carried in the trace (recorded without --no-bundle): zstd
-- compressed copies, once per build id, in parts. The analyzer symbolizes
-- from them when the binary is not on this machine.
CREATE TABLE bundle_part (
  build_id_go TEXT NOT NULL,   -- Go build id of the bundled executable
  build_id_gnu TEXT NOT NULL,  -- GNU build id, '' when absent
  path TEXT NOT NULL,          -- its path as recorded
  compression TEXT NOT NULL,   -- 'zstd'
  original_size INTEGER NOT NULL,  -- bytes of the whole copy, decompressed
  has_dwarf INTEGER NOT NULL,  -- 1: DWARF included; 0: recorded with --no-dwarf-bundle (or none to include)
  part INTEGER NOT NULL,       -- 0-based part number
  parts INTEGER NOT NULL,      -- number of parts
  data BLOB NOT NULL,          -- this part of the compressed stream
  PRIMARY KEY (build_id_go, build_id_gnu, part)
);

-- What import and symbolization noticed: counts and problems, Perfetto
-- style, queryable instead of fatal.
CREATE TABLE import_stats (
  name TEXT PRIMARY KEY,  -- e.g. 'lost_events', 'truncated_bytes', 'unknown_records'
  severity TEXT NOT NULL, -- 'info', 'warning', 'data_loss' or 'error'
  value INTEGER NOT NULL, -- the count
  description TEXT NOT NULL  -- what it means, in words
);

-- Findings of the detectors (what `loophound analyze` reports).
CREATE TABLE finding (
  id INTEGER PRIMARY KEY,   -- report order
  kind TEXT NOT NULL,       -- 'spin', 'busy_poll', 'no_progress' (a spin proven endless by --regs), 'recursion', 'livelock'
  goid INTEGER NOT NULL,    -- goroutine.goid
  function TEXT NOT NULL,   -- function that holds the loop
  file TEXT NOT NULL,       -- its source file
  line INTEGER NOT NULL,    -- first line of the hot range
  end_line INTEGER NOT NULL,  -- last line of the hot range
  duration_s REAL NOT NULL,   -- seconds between the first and last sample of the window
  cpu_share REAL NOT NULL,    -- samples / sample ticks in the window (1.0 = a whole CPU)
  samples INTEGER NOT NULL,   -- samples in the window
  confidence REAL NOT NULL,   -- 0..1
  evidence TEXT NOT NULL      -- why, in words
);

-- Each sample with its leaf location (innermost inline level).
CREATE VIEW sample_leaf AS
SELECT s.id, s.ts, s.cpu, s.tid, s.goid, f.function, f.file, f.line, sf.pc
FROM sample s
JOIN stack_frame sf ON sf.stack_id = s.stack_id AND sf.position = 0
LEFT JOIN frame f ON f.pc = sf.pc AND f.inline_depth = 0;

-- CPU samples per goroutine and the share of a CPU they stand for over
-- the whole recording (1.0 = a whole CPU; capped there, since timer skew
-- can put one sample too many in the window).
CREATE VIEW goroutine_cpu AS
SELECT g.goid, g.samples, g.start_function,
       (g.last_ns - g.first_ns) / 1e9 AS seen_s,
       min(1.0, g.samples / (((SELECT max(ts) FROM sample) - (SELECT min(ts) FROM sample)) / 1e9 *
                    (SELECT CAST(value AS REAL) FROM metadata WHERE key = 'sample_frequency_hz') + 1))
         AS cpu_share
FROM goroutine g ORDER BY g.samples DESC;

-- Hottest leaf functions over all samples.
CREATE VIEW hot_function AS
SELECT function, file, count(*) AS samples
FROM sample_leaf GROUP BY function, file ORDER BY samples DESC;

-- Time each goroutine spent running, from its state intervals (--events
-- states): the on-CPU time the runtime gave it.
CREATE VIEW goroutine_running_time AS
SELECT goid, count(*) AS times_run, sum(coalesce(end_ns, (SELECT max(start_ns) FROM goroutine_state)) - start_ns) / 1e9 AS running_s
FROM goroutine_state WHERE state = 'running' GROUP BY goid ORDER BY running_s DESC;

-- How long goroutines waited for a P: each runnable interval that ended in
-- running, with its length. Long latencies beside a spinner mean starvation.
CREATE VIEW runnable_latency AS
SELECT goid, start_ns AS runnable_ns, end_ns AS running_ns, (end_ns - start_ns) / 1e3 AS latency_us
FROM goroutine_state
WHERE state = 'runnable' AND next_state = 'running';

-- Time each target thread spent on a CPU, from sched_switch (--events sched).
CREATE VIEW thread_cpu_time AS
SELECT tid, sum(coalesce(end_ns, start_ns) - start_ns) / 1e9 AS on_cpu_s, count(*) AS times_scheduled
FROM thread_state WHERE state = 'running' GROUP BY tid ORDER BY on_cpu_s DESC;
