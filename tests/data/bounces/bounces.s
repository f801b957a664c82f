Mon Oct  7 13:10:00 2024 Info: Begin Logfile
Mon Oct  7 13:10:00 2024 Info: Version: 15.0.0-104 SN: 4229C3B1E6E2A1E0C2C3-0123456789AB
Mon Oct  7 13:15:02 2024 Info: Bounced: 880102:0 From:<news@example.com> To:<alice@example.org> Reason: "5.1.0 - Unknown address error" Response: "('550', ['5.1.1 <alice@example.org>: Recipient address rejected: User unknown in virtual mailbox table'])"
Mon Oct  7 13:16:40 2024 Info: Delayed: 880103:0 From:<news@example.com> To:<bob@example.net> Reason: "4.1.0 - Unknown address error" Response: "('451', ['4.7.1 Greylisted, please try again in 5 minutes'])"
Mon Oct  7 13:20:44 2024 Info: Bounced: 880104:1 From:<news@example.com> To:<carol@example.com> Reason: "5.4.7 - Delivery expired (message too old)" Response: "('000', ['timeout'])"
Mon Oct  7 13:21:00 2024 Info: Bounced: 880105:0 From:<news@example.com> To:<dave@example.org> Reason: "5.1.0 - Unknown address error" Response: "('554', ['5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org'])"
Mon Oct  7 13:22:00 2024 Info: Bounced: 880106:2 this line is damaged
