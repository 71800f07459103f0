from __future__ import annotations

import sys

from nixtox.cli import main

sys.exit(main())
