// Keystone's host API: `#include "host/keystone.h"` (or <keystone.h>) gives
// Keystone::Enclave, Keystone::Params and Keystone::Error.
#pragma once

#include "Enclave.hpp"
