// Moved to tests/support/guard_page.hpp; this forwarder stays until every includer names
// the new path.
#pragma once
#include "tests/support/guard_page.hpp"
