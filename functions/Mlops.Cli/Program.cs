// mlops command line: composes the commands in Commands/ (add a file there and one line in CliApp.BuildRoot).
return Mlops.Cli.CliApp.Run(args);
