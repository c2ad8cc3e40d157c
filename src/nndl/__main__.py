from nndl.cli.main import entry

entry()
