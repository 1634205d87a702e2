/* field editing */
#include "config.h"
