// A typical login page: the user taps one button, the page gets a silent login code
// (my.getAuthCode, auth_base), then the phone number envelope (my.getPhoneNumber), and sends both
// to the merchant's POST /login, which exchanges the code at the OpenAPI gateway
// (alipay.system.oauth.token) and decrypts the envelope. A fresh code is taken for every attempt:
// a code is valid once, and only for a few minutes.
const SERVER = 'https://your-server-address'; // 替换成自己的服务端地址

Page({
  data: { user: null, error: '' },

  login() {
    this.setData({ error: '' });
    my.getAuthCode({
      scopes: 'auth_base',
      success: ({ authCode }) => {
        my.getPhoneNumber({
          success: ({ response }) => this.sendLogin(authCode, response),
          fail: (res) => this.failed('获取手机号失败', res),
        });
      },
      fail: (res) => this.failed('获取授权码失败', res),
    });
  },

  sendLogin(authCode, response) {
    my.request({
      method: 'POST',
      url: `${SERVER}/login`,
      data: { authCode, response },
      success: ({ data }) => {
        this.setData({ user: { openId: data.open_id, userId: data.user_id, mobile: data.mobile } });
        my.alert({ title: '登录成功', content: data.mobile });
      },
      fail: (res) => {
        // The merchant's refusal comes back as an HTTP error status with its answer in res.data.
        const reason = res.data && res.data.error ? res.data.error : res.errorMessage;
        this.failed('登录失败', { error: res.error, status: res.status, reason });
      },
    });
  },

  handleAuthError(e) {
    this.failed('用户拒绝授权', e.detail);
  },

  failed(title, detail) {
    this.setData({ error: title });
    my.alert({ title, content: JSON.stringify(detail) });
  },
});
