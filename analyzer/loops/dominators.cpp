#include "analyzer/loops/dominators.h"

#include <algorithm>
#include <utility>

namespace loophound::analyzer {
namespace {

// Iterative depth-first walk (Go's runtime has functions with thousands of
// blocks; recursion could exhaust the stack).
std::vector<size_t> postorder(const ControlFlowGraph& graph) {
  const std::vector<BasicBlock>& blocks = graph.blocks();
  std::vector<size_t> order;
  if (graph.entry() == kNoBlock) return order;
  std::vector<bool> visited(blocks.size(), false);
  // (block, index of the next successor to visit)
  std::vector<std::pair<size_t, size_t>> stack = {{graph.entry(), 0}};
  visited[graph.entry()] = true;
  while (!stack.empty()) {
    auto& [block, next] = stack.back();
    if (next < blocks[block].successors.size()) {
      size_t successor = blocks[block].successors[next++];
      if (!visited[successor]) {
        visited[successor] = true;
        stack.emplace_back(successor, 0);
      }
    } else {
      order.push_back(block);
      stack.pop_back();
    }
  }
  return order;
}

}  // namespace

DominatorTree::DominatorTree(const ControlFlowGraph& graph)
    : idom_(graph.blocks().size(), kNoBlock) {
  std::vector<size_t> order = postorder(graph);
  if (order.empty()) return;
  std::vector<size_t> postorder_number(graph.blocks().size(), kNoBlock);
  for (size_t i = 0; i < order.size(); ++i) postorder_number[order[i]] = i;
  reverse_postorder_.assign(order.rbegin(), order.rend());

  // Walks both fingers up the current tree until they meet; the block
  // with the smaller postorder number is the deeper one.
  auto intersect = [&](size_t a, size_t b) {
    while (a != b) {
      while (postorder_number[a] < postorder_number[b]) a = idom_[a];
      while (postorder_number[b] < postorder_number[a]) b = idom_[b];
    }
    return a;
  };

  size_t entry = graph.entry();
  idom_[entry] = entry;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t block : reverse_postorder_) {
      if (block == entry) continue;
      size_t new_idom = kNoBlock;
      for (size_t p : graph.blocks()[block].predecessors) {
        if (idom_[p] == kNoBlock) continue;  // unreachable or not yet processed
        new_idom = new_idom == kNoBlock ? p : intersect(p, new_idom);
      }
      if (new_idom != idom_[block]) {
        idom_[block] = new_idom;
        changed = true;
      }
    }
  }
}

bool DominatorTree::dominates(size_t a, size_t b) const {
  if (!reachable(a) || !reachable(b)) return false;
  for (;;) {
    if (b == a) return true;
    size_t up = idom_[b];
    if (up == b) return false;  // reached the entry
    b = up;
  }
}

}  // namespace loophound::analyzer
