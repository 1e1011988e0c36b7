from intact.cli import main

raise SystemExit(main())
