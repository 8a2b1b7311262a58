"""A class of simulated students for a course server, without a browser (course/loadgen.py).

python bench/class_load.py --serve --students 30 --seconds 10
python bench/class_load.py --table           # the capacity table of docs/benchmarks.md
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course.loadgen import main

if __name__ == "__main__":
    sys.exit(main())
