'use strict';
// A pool worker for the reliability suite: work(i, ms) answers i after ms.
const { worker } = require('../../../js');

worker({
  work: (i, ms) => new Promise((resolve) => setTimeout(() => resolve(i), ms)),
});
