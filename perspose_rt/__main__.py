import sys

from perspose_rt.cli import main

sys.exit(main())
