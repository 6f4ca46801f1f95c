/*
 * test.h: the one include of every unit test: cmocka and what it needs first.
 */
#ifndef CG_TEST_H
#define CG_TEST_H

#include "base/cg.h"

#include <setjmp.h>
#include <cmocka.h>

#endif
