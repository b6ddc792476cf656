#pragma once
#include "report.h"
