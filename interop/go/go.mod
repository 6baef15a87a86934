module example.com/alipay-phone-merchant

go 1.19
