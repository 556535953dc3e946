// A nesting guard for JSON text from users (MXNet symbols, server requests).
#pragma once
#include <string_view>

#include "anvil/status.h"

namespace anvil {

// nlohmann's parser is iterative, but dump(), error messages that quote a
// value and code walking the DOM recurse: a "[[[[..." file a few hundred
// kilobytes long would overflow the stack. This scan (strings and escapes
// honoured) refuses such text before it is parsed.
Status check_json_depth(std::string_view text, int max_depth);

}  // namespace anvil
