echo from sh
exit 4
