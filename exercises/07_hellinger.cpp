// Exercise 7 — the Hellinger distance (lesson: explain_text, TX-Ray; STUDY.md).
//
// Task: the distance between two discrete distributions given as (key -> mass) maps, e.g. the tokens
// a CNN filter fires on before and after training (xai/txray.h). Masses need not sum to 1: normalise
// each side first. A key missing on one side has mass 0 there.
//
// Maths:
//   H(P, Q) = ‖√P − √Q‖₂ / √2 = sqrt( ½ Σ_key (√p_key − √q_key)² )   ∈ [0, 1]
// 0 for equal distributions, 1 for disjoint supports. The sum runs over the union of both key sets:
// a key that only Q has still counts.
//
// Plain C++ (std::sqrt, loops over the maps). Throw a lumen::Error on a negative or non-finite mass, or
// on a side with no positive mass (it cannot be normalised): `LUMEN_CHECK(condition, "hellinger", ...)`.
//
// Checked by (checks.cpp): distances worked out by hand (equal, disjoint, unnormalised, keys on one side
// only), the errors, and xai::hellinger (xai/text.h) on random distributions.
#include <cmath>

#include "exercises/exercises.h"

namespace lumen::exercises {

double hellinger(const std::map<std::string, double>& p, const std::map<std::string, double>& q) {
  throw Error("exercise 7 (hellinger): not written yet; write it in exercises/07_hellinger.cpp (STUDY.md)");
}

}  // namespace lumen::exercises
